"""Writing the files the user asks for (--attention, --report): whole or not at all, and only files.

The text goes to a temporary file beside the target, which then replaces it in one rename, so a
reader never sees half a file and a failure (or Ctrl-C, or kill) leaves the old one as it was and no
temporary file behind. Refused before any work: a file that exists and is not one the same option wrote
before (its mark, WRITTEN_BY, is not in its first bytes: a program, a module of this one, the page's template,
any file of another kind; through a symlink, the file it leads to), anything inside the program's own .venv or
.git, a path that exists and is not a regular file (a device such as /dev/null, a folder, a pipe), a
read-only file (a rename would replace it all the same), one of the run's inputs (the model's files,
even through the Hugging Face cache's links; the prompt file), a folder that is missing or that cannot
be written or searched, and a name too long for its file system. An empty file may be replaced. The new file gets the permissions any
new file of the user's gets (0666 less the umask), not the temporary file's 0600.
"""
import os
import tempfile


class OutputError(Exception):
    """A file the user asked for cannot be written: main.py prints it as one sentence."""


# What each option that writes a file puts in its first bytes, so that a later run knows the file for its own.
WRITTEN_BY = {"--attention": 'data-written-by="numpy-gpt2 --attention"',
              "--report": '<meta name="generator" content="numpy-gpt2 --report">'}
PROGRAM = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
NEVER_WRITTEN = [os.path.join(PROGRAM, name) + os.sep for name in (".venv", ".git")]


def written_by(target, option):
    """Whether the file at target is empty, or begins as one that option wrote."""
    with open(target, "rb") as f:
        start = f.read(4096)
    return not start or WRITTEN_BY[option].encode() in start


def check_writable(path, option, inputs=None):
    """Fail at once, before any work, if path cannot be written by option (a key of WRITTEN_BY), or is one of
    inputs ({real path: what it is}); returns the real path to write."""
    if path.endswith(os.sep):
        raise OutputError(f"cannot write {path}: it ends in {os.sep}, so it names a folder, not a file")
    target = os.path.realpath(path)  # through symlinks
    folder, name = os.path.split(target)
    if target in (inputs or {}):
        raise OutputError(f"cannot write {path}: it is {inputs[target]}, which this run reads")
    inside = next((place for place in NEVER_WRITTEN if target.startswith(place)), None)
    if inside:
        raise OutputError(f"cannot write {path}: it is inside the program's own {os.path.basename(inside[:-1])}")
    if os.path.exists(target) and not os.path.isfile(target):
        raise OutputError(f"cannot write {path}: it exists and is not a regular file")
    try:
        theirs = os.path.isfile(target) and not written_by(target, option)
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror or e}") from None
    if theirs:
        raise OutputError(f"cannot write {path}: it exists and is not a file that {option} wrote, so it is not "
                          "replaced; remove it or choose another name")
    if not os.path.isdir(folder):
        raise OutputError(f"cannot write {path}: there is no folder {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {path}: the folder {folder} is not writable")
    if os.path.exists(target) and not os.access(target, os.W_OK):
        raise OutputError(f"cannot write {path}: it is read-only; make it writable or choose another name")
    longest = os.pathconf(folder, "PC_NAME_MAX")
    if len(os.fsencode(name)) > longest:
        raise OutputError(f"cannot write {path}: its name is longer than the {longest} bytes the file system allows")
    return target


def inputs_of(folder, prompt_file=None):
    """{real path: what it is} for the files a run reads: every file of the model's folder, and the prompt file."""
    found = {os.path.realpath(os.path.join(folder, name)): f"the model's {name}" for name in os.listdir(folder)}
    if prompt_file not in (None, "-"):
        found[os.path.realpath(prompt_file)] = "the prompt file"
    return found


def write_text(path, text, option):
    """text, which holds WRITTEN_BY[option], written to path whole or not at all."""
    assert WRITTEN_BY[option] in text[:4096], "the file carries its mark"
    target = check_writable(path, option)
    temporary = None
    try:
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=os.path.dirname(target), prefix=".", suffix=".tmp",
                                         delete=False) as f:
            temporary = f.name
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, target)
        temporary = None
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror or e}") from None
    finally:  # whatever stopped it, Ctrl-C and kill included: no temporary file is left
        if temporary and os.path.exists(temporary):
            os.remove(temporary)
