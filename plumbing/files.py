"""Writing the files the user asks for (--attention, --report): whole or not at all, and only files.

The text goes to a temporary file beside the target, which then replaces it in one rename, so a
reader never sees half a file and a failure leaves the old one as it was. A symlink is written
through (its target is replaced); a path that exists and is not a regular file (a device such as
/dev/null, a folder, a pipe) is refused rather than replaced. The new file gets the permissions any
new file of the user's gets (0666 less the umask), not the temporary file's 0600.
"""
import os
import tempfile



class OutputError(Exception):
    """A file the user asked for cannot be written: main.py prints it as one sentence."""


def check_writable(path):
    """Fail at once, before any work, if path cannot be written; returns the real path to write."""
    target = os.path.realpath(path)  # through symlinks
    if os.path.exists(target) and not os.path.isfile(target):
        raise OutputError(f"cannot write {path}: it exists and is not a regular file")
    if not os.path.isdir(os.path.dirname(target)):
        raise OutputError(f"cannot write {path}: there is no folder {os.path.dirname(target)}")
    if not os.access(os.path.dirname(target), os.W_OK):
        raise OutputError(f"cannot write {path}: the folder {os.path.dirname(target)} is not writable")
    return target


def write_text(path, text):
    target = check_writable(path)
    folder = os.path.dirname(target)
    temporary = None
    try:
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=folder, prefix=".", suffix=".tmp",
                                         delete=False) as f:
            temporary = f.name
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, target)
    except OSError as e:
        if temporary and os.path.exists(temporary):
            os.remove(temporary)
        raise OutputError(f"cannot write {path}: {e.strerror or e}") from None
