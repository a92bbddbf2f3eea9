"""--prompt-file: the prompt read from a file or standard input, bounded and checked to be UTF-8."""
import sys


LONGEST_PROMPT = 1 << 20  # bytes read from --prompt-file: a book's chapter is a tenth of it


def read_prompt(parser, path):
    """The text of --prompt-file, at most LONGEST_PROMPT bytes (tokenizing costs about 130 bytes of memory per
    byte of text: an endless /dev/zero, or a 50 MB file, would take gigabytes before any check)."""
    try:
        path.encode("utf-8")
        if path == "-" and sys.stdin is None:
            parser.error("--prompt-file - reads standard input, which is closed")
        with open(sys.stdin.fileno() if path == "-" else path, "rb", closefd=path != "-") as f:
            data = f.read(LONGEST_PROMPT + 1)
    except UnicodeEncodeError:
        parser.error("the file name of --prompt-file is not valid UTF-8 text")
    except OSError as e:
        parser.error(f"cannot read the prompt from {path}: {e.strerror}")
    if len(data) > LONGEST_PROMPT:
        parser.error(f"the prompt in {path} is longer than {LONGEST_PROMPT // (1 << 20)} MiB; give a part of it")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        parser.error(f"the prompt in {path} is not UTF-8 text")
