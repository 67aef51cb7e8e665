"""git's long-running filter process for notebooks: one process strips every notebook that a
`git add`, `git status` or `git checkout` touches.

    python -c "<ENTRY>" [STRIP OPTIONS]             (filter.<driver>.process)
    python -c "<ENTRY>" --textconv [OPTIONS] PATH   (diff.<driver>.textconv)

ENTRY imports this module and calls run(); `python -m torchlane.notebooks.filter_process`
(what older installs configured) works too, but runpy costs ~20% of the process's start-up.

Protocol (gitattributes(5), "Long Running Filter Process"): pkt-lines on stdin/stdout, each a
4-hex-digit length (counting itself) then data; "0000" is a flush packet that ends a list. The
pkt-line framing is written by hand: it is forty lines, and the Python packages that offer it
are either unmaintained or pull in a whole git implementation for this one thing.

A notebook is never lost: whatever goes wrong with one file (not JSON, not a notebook, an
exception in our code) the filter answers with the content it was given, unchanged, and says why
on stderr, which git passes through to the user.

Outputs stay on disk: clean remembers each original in the git directory (kept_outputs.py) and
smudge (checkout, stash, rebase, merge) answers with the remembered notebook whose stripped form
is the blob, or the blob itself. Without that, `git stash` and `stash pop` would write the
stripped notebook over the user's outputs.

Imports only sys/os (and json's C scanner, through the strip module, at the first notebook;
never json itself, nor re, unless a notebook is not valid JSON): this starts inside every git
command.
"""

from __future__ import annotations

import os
import sys

from torchlane.notebooks.options import OptionError, StripOptions, options_from_argv

TYPE_CHECKING = False  # see strip.py: typing stays out of the filter's start-up
if TYPE_CHECKING:
    from typing import BinaryIO

# What git's configured command runs with `python -c`: no runpy, no importlib.util.
ENTRY = "from torchlane.notebooks.filter_process import run; run()"

MAX_PACKET_DATA = 65516  # LARGE_PACKET_MAX (65520) minus the 4-byte length header
FLUSH = b"0000"


class ProtocolError(Exception):
    """git said something that does not follow the protocol; we stop rather than guess."""


def read_packet(stream: BinaryIO) -> bytes | None:
    """One packet's data; None for a flush packet. EOF before a header raises EOFError."""
    header = stream.read(4)
    if not header:
        raise EOFError
    if len(header) < 4:
        raise ProtocolError(f"truncated pkt-line header {header!r}")
    try:
        length = int(header, 16)
    except ValueError:
        raise ProtocolError(f"bad pkt-line header {header!r}") from None
    if length == 0:
        return None
    if length < 4:
        raise ProtocolError(f"bad pkt-line length {length}")
    data = stream.read(length - 4)
    if len(data) != length - 4:
        raise ProtocolError("truncated pkt-line")
    return data


def read_text_list(stream: BinaryIO) -> list[str]:
    """Text packets up to the next flush, without their trailing newlines."""
    items: list[str] = []
    while (packet := read_packet(stream)) is not None:
        items.append(packet.decode("utf-8", "replace").rstrip("\n"))
    return items


def read_content(stream: BinaryIO) -> bytes:
    chunks: list[bytes] = []
    while (packet := read_packet(stream)) is not None:
        chunks.append(packet)
    return b"".join(chunks)


def packet(data: bytes) -> bytes:
    return b"%04x" % (len(data) + 4) + data


def text_list(*items: str) -> bytes:
    return b"".join(packet(item.encode("utf-8") + b"\n") for item in items) + FLUSH


def content_packets(data: bytes) -> bytes:
    parts = [packet(data[i : i + MAX_PACKET_DATA]) for i in range(0, len(data), MAX_PACKET_DATA)]
    return b"".join(parts) + FLUSH


def handshake(stdin: BinaryIO, stdout: BinaryIO) -> None:
    welcome = read_text_list(stdin)
    if not welcome or welcome[0] != "git-filter-client" or "version=2" not in welcome[1:]:
        raise ProtocolError(f"unexpected greeting {welcome!r} (expected git-filter-client v2)")
    stdout.write(text_list("git-filter-server", "version=2"))
    stdout.flush()
    offered = read_text_list(stdin)
    supported = [c for c in ("capability=clean", "capability=smudge") if c in offered]
    stdout.write(text_list(*supported))
    stdout.flush()


def clean(content: bytes, pathname: str, options: StripOptions) -> bytes:
    """The stripped notebook, or the content unchanged (with a note on stderr) if we cannot."""
    # Imported at the first notebook: git starts this process for `git status` and `git
    # checkout` too, most of which never send one (the stripper stays unloaded).
    from torchlane.notebooks.strip import NotebookError, strip_bytes

    try:
        return strip_bytes(content, options)
    except NotebookError as exc:
        reason = str(exc)
    except Exception as exc:  # the filter must never lose a notebook, whatever happened
        reason = f"internal error {type(exc).__name__}: {exc}"
    sys.stderr.write(f"torchlane nb filter: {pathname}: {reason}; stored unchanged\n")
    sys.stderr.flush()
    return content


def smudge(content: bytes, pathname: str, options: StripOptions, folder: str | None) -> bytes:
    """The notebook to write for a blob: with its remembered outputs, or the blob as it is."""
    if folder is None:
        return content
    try:
        from torchlane.notebooks.kept_outputs import restore

        return restore(folder, pathname, content, options)
    except Exception as exc:  # a checkout must never fail because of the outputs store
        sys.stderr.write(f"torchlane nb filter: {pathname}: outputs not restored ({exc})\n")
        return content


def remember(original: bytes, stripped: bytes, pathname: str, folder: str | None) -> None:
    if folder is None or original == stripped:
        return
    try:
        from torchlane.notebooks.kept_outputs import remember as keep

        keep(folder, pathname, original, stripped)
    except Exception as exc:  # stripping succeeded; only keeping the outputs failed
        sys.stderr.write(f"torchlane nb filter: {pathname}: outputs not kept ({exc})\n")


def serve(
    stdin: BinaryIO, stdout: BinaryIO, options: StripOptions, folder: str | None = None
) -> None:
    """Answer git's requests; `folder` is the outputs store (None: keep no outputs)."""
    handshake(stdin, stdout)
    while True:
        try:
            header = read_text_list(stdin)
        except EOFError:
            return  # git closed the pipe: every file has been served
        fields = dict(item.partition("=")[::2] for item in header)
        content = read_content(stdin)
        command = fields.get("command")
        pathname = fields.get("pathname", "?")
        if command == "clean":
            answer = clean(content, pathname, options)
        elif command == "smudge":
            answer = smudge(content, pathname, options, folder)
        else:
            stdout.write(text_list("status=error"))
            stdout.flush()
            continue
        # status, content, then an empty list: "keep the status given before the content".
        stdout.write(text_list("status=success") + content_packets(answer) + FLUSH)
        stdout.flush()
        if command == "clean" and folder is not None and answer != content:
            # After answering: git stores the blob and reads the next file meanwhile (one
            # append to a pack file; a thread for it cost more in imports and GIL hand-offs).
            remember(content, answer, pathname, folder)


def textconv(path: str, options: StripOptions) -> int:
    """Print a notebook as git diff should see it: stripped, or as it is if it cannot be."""
    with open(path, "rb") as handle:
        content = handle.read()
    out = sys.stdout.buffer
    out.write(clean(content, path, options))
    out.flush()
    return 0


def main(argv: list[str]) -> int:
    try:
        options, rest = options_from_argv(argv)
    except OptionError as exc:
        sys.stderr.write(f"torchlane nb filter: {exc}\n")
        return 2
    if rest[:1] == ["--textconv"] and len(rest) == 2:
        return textconv(rest[1], options)
    if rest:
        sys.stderr.write(f"torchlane nb filter: unexpected arguments {rest!r}\n")
        return 2
    try:
        from torchlane.notebooks.kept_outputs import store_folder

        serve(sys.stdin.buffer, sys.stdout.buffer, options, store_folder("."))
    except ProtocolError as exc:
        sys.stderr.write(f"torchlane nb filter: {exc}\n")
        return 1
    except EOFError:
        sys.stderr.write("torchlane nb filter: git closed the pipe in the middle of a request\n")
        return 1
    return 0


def run() -> None:
    """The process's entry point: what git's configured command calls (see install.py)."""
    # os is imported so that a broken pipe at exit does not print a traceback over git's output.
    import gc

    # Parsing a notebook allocates thousands of dicts and lists, and with the default threshold
    # (700) the collector ran dozens of times per notebook, finding nothing: the trees are freed
    # by reference counting. Cycles are still collected, just less often.
    gc.set_threshold(20_000)
    try:
        sys.exit(main(sys.argv[1:]))
    except BrokenPipeError:
        os._exit(1)
    except KeyboardInterrupt:  # Ctrl-C during `git add` reaches us too; git reports it
        os._exit(130)


if __name__ == "__main__":  # `python -m`, as configurations written before ENTRY still say
    run()
