"""File and archive commands: ``dir``, ``verify /md5``, ``delete``, ``more``, ``copy``, ``write``,
``erase``, ``configure replace`` and ``show archive ...``.

These are exactly what NAPALM's ``ios`` driver drives (stage a candidate on flash, diff it with
``show archive config ...``, commit with ``copy``/``configure replace``, roll back from
``flash:rollback_config.txt``), so every message here is one its code looks for: ``Error opening``,
``Directory of <path>``, ``= <md5>``, ``Invalid input detected``, ``Rollback Done``,
``The original configuration has been successfully restored``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twin_lab.emulator.commands import Invocation, Output, Question
from twin_lab.emulator.configs import (
    clean_config_text,
    contextual_diff,
    display_config,
    incremental_commands,
    merge_commands,
    render_differences,
)
from twin_lab.emulator.flash import FilePath, error_opening, parse_path
from twin_lab.ios.grammar import INCOMPLETE, INVALID, CommandError

if TYPE_CHECKING:
    from twin_lab.emulator.shell import Shell
    from twin_lab.network import NetworkConfigSession

NVRAM_BYTES = 262_144


# --- helpers ------------------------------------------------------------------------------------

def _path_arg(inv: Invocation, index: int) -> FilePath:
    if index >= len(inv.args):
        raise CommandError(INCOMPLETE, len(inv.line), inv.line)
    path = parse_path(inv.args[index].text)
    if path is None:
        raise inv.invalid(index)
    return path


def read_source(shell: Shell, path: FilePath) -> str | None:
    """Text of a file-like source (running-config, startup-config, flash file, null:)."""
    if path.fs == "system:" and path.name == "running-config":
        return shell.lab.running_display(shell.device)
    if path.fs == "nvram:" and path.name == "startup-config":
        return shell.state.startup
    if path.fs == "null:":
        return ""
    if path.is_flash and path.name:
        data = shell.state.flash.read(path.name)
        return data.decode("utf-8", errors="replace") if data is not None else None
    return None


def _copied(size: int) -> str:
    seconds = 0.012 + size / 4_000_000
    return f"{size} bytes copied in {seconds:.3f} secs ({int(size / seconds)} bytes/sec)\n"


def _confirm_filename(shell: Shell, default: str, action, before: str = "") -> Output:
    """IOS asks ``Destination filename [x]?`` unless ``file prompt quiet`` is configured."""
    if shell.lab.file_prompt_quiet(shell.device):
        return action(default)
    return Question(f"Destination filename [{default}]? ", lambda answer: action(answer.strip() or default),
                    before=before)


def _line_errors(errors) -> str:
    out = []
    for error in errors:
        out.append(error.line.rstrip())
        if error.message == INVALID:
            out.append(" " * error.position + "^")
        out.append(error.message)
        out.append("")
    return "\n".join(out) + ("\n" if out else "")


def _paste(session: NetworkConfigSession, text: str) -> list[str]:
    """Apply config text line by line like a paste (until the session ends); the errors of the bad lines."""
    errors = []
    for line in clean_config_text(text).splitlines():
        error = session.apply(line)
        if error is not None:
            errors.append(error)
        if session.ended:
            break
    return errors


def merge_into_running(shell: Shell, text: str) -> str:
    """``copy <file> running-config``: apply line by line like a paste; report bad lines."""
    errors = _paste(shell.network.config_session(shell.device), text)
    shell.lab.touch(shell.device, shell.username)
    return _line_errors(errors)


def canonical_display(shell: Shell, text: str) -> str:
    """What the running-config would look like after ``configure replace`` with ``text``."""
    fork = shell.network.fork()
    if fork.replace_config(shell.device, clean_config_text(text)):
        return display_config(clean_config_text(text))
    return display_config(fork.running_config(shell.device))


# --- dir / verify / delete / more -----------------------------------------------------------------

def cmd_dir(shell: Shell, inv: Invocation) -> Output:
    words = [w for w in inv.words() if not w.startswith("/")]
    path = parse_path(words[0]) if words else FilePath("flash:", "")
    if path is None or len(words) > 1:
        raise inv.invalid(0 if path is None else 1)
    if path.fs == "nvram:":
        startup = shell.state.startup
        lines = ["Directory of nvram:/", ""]
        if startup is not None and path.name in ("", "startup-config"):
            lines.append(f"  253  -rw-  {len(startup):>10}                    <no date>  startup-config")
        elif path.name:
            return error_opening(path) + "\n"
        lines += ["", f"{NVRAM_BYTES} bytes total ({NVRAM_BYTES - len(startup or '')} bytes free)"]
        return "\n".join(lines) + "\n"
    if not path.is_flash:
        return f"%Error opening {path.display()} (Operation not supported)\n"
    listing = shell.state.flash.render_dir(path)
    return (listing if listing is not None else error_opening(path)) + "\n"


def cmd_verify(shell: Shell, inv: Invocation) -> Output:
    words = inv.words()
    if not words:
        raise CommandError(INCOMPLETE, len(inv.line), inv.line)
    if words[0].lower() != "/md5":
        raise inv.invalid(0)
    path = _path_arg(inv, 1)
    if len(words) > 3:
        raise inv.invalid(3)
    digest = shell.state.flash.md5(path.name) if path.is_flash and path.name else None
    if digest is None:
        return error_opening(path) + "\n"
    out = f"{'.' * 12}MD5 of {path.display()} Done!\nverify /md5 ({path.display()}) = {digest}\n"
    if len(words) == 3:
        verdict = "Verified" if words[2].lower() == digest else "%Error verifying"
        out += f"{verdict} ({path.display()}) = {digest}\n"
    return out


def cmd_delete(shell: Shell, inv: Invocation) -> Output:
    words = inv.words()
    force = any(w.lower() == "/force" for w in words)
    index = next((i for i, w in enumerate(words) if not w.startswith("/")), len(words))
    path = _path_arg(inv, index)
    if not path.is_flash or not path.name:
        raise inv.invalid(index)
    flash = shell.state.flash

    def remove(_answer: str = "") -> Output:
        if not flash.delete(path.name):
            return f"%Error deleting {path.display()} (No such file or directory)\n"
        return None

    if force or shell.lab.file_prompt_quiet(shell.device):
        return remove()

    def confirm(answer: str) -> Output:
        name = answer.strip() or path.name
        if name != path.name:
            return remove() if flash.exists(name) else f"%Error deleting {path.fs}/{name} (No such file or directory)\n"
        return Question(f"Delete {path.display()}? [confirm]",
                        lambda yes: remove() if yes.strip().lower() in ("", "y", "yes") else None)

    return Question(f"Delete filename [{path.name}]? ", confirm)


def cmd_more(shell: Shell, inv: Invocation) -> Output:
    words = [w for w in inv.words() if not w.startswith("/")]
    if not words:
        raise CommandError(INCOMPLETE, len(inv.line), inv.line)
    path = _path_arg(inv, len(inv.args) - len(words))
    text = read_source(shell, path)
    if text is None:
        return error_opening(path) + "\n"
    return text


# --- copy / write / erase ------------------------------------------------------------------------

def cmd_copy(shell: Shell, inv: Invocation) -> Output:
    positions = [i for i, t in enumerate(inv.args) if not t.text.startswith("/")]
    if len(positions) < 2:
        raise CommandError(INCOMPLETE, len(inv.line), inv.line)
    if len(positions) > 2:
        raise inv.invalid(positions[2])
    source, target = _path_arg(inv, positions[0]), _path_arg(inv, positions[1])
    text = read_source(shell, source)
    if text is None:
        return error_opening(source) + "\n"
    state = shell.state
    if target.fs == "system:":
        return _confirm_filename(shell, "running-config",
                                 lambda _name: merge_into_running(shell, text) + _copied(len(text)))
    if target.fs == "nvram:":
        def save(_name: str) -> Output:
            if source.fs == "system:":
                return write_memory(shell)
            state.startup = text
            return _copied(len(text))
        return _confirm_filename(shell, "startup-config", save)
    if target.fs == "null:":
        return _copied(len(text))
    if not target.is_flash:
        return f"%Error opening {target.display()} (Operation not supported)\n"
    default = target.name or source.name or "file"

    def store(name: str) -> Output:
        state.flash.write(name, text.encode())
        return _copied(len(text))

    return _confirm_filename(shell, default, store)


def write_memory(shell: Shell) -> str:
    state = shell.state
    state.startup = shell.lab.running_display(shell.device)
    return "Building configuration...\n[OK]\n"


def cmd_write(shell: Shell, inv: Invocation) -> Output:
    keyword = inv.keywords[-1]
    if keyword == "terminal":
        return show_running(shell, inv)
    if keyword == "erase":
        return cmd_erase(shell, inv)
    inv.expect_none()
    return write_memory(shell)


def cmd_erase(shell: Shell, inv: Invocation) -> Output:
    words = inv.words()
    if inv.keywords[0] == "erase":
        if not words:
            raise CommandError(INCOMPLETE, len(inv.line), inv.line)
        if words[0].lower() not in ("startup-config", "nvram:", "nvram:startup-config"):
            raise inv.invalid(0)

    def erase(answer: str) -> Output:
        if answer.strip().lower() not in ("", "y", "yes"):
            return None
        shell.state.startup = None
        return "[OK]\nErase of nvram: complete\n"

    return Question("Erasing the nvram filesystem will remove all configuration files! Continue? [confirm]", erase)


# --- show running / startup -----------------------------------------------------------------------

def show_running(shell: Shell, inv: Invocation) -> Output:
    from twin_lab.addressing import AddressError, canonical_interface

    text = shell.lab.running_display(shell.device)
    words = inv.words() if inv.keywords[0] == "show" else []
    if words and words[0].lower() in ("all", "full"):
        words = words[1:]
    elif words and words[0].lower() == "view" and len(words) > 1:
        words = words[2:]
    if words:
        if "interface".startswith(words[0].lower()) and len(words[0]) >= 2:
            if len(words) < 2:
                raise CommandError(INCOMPLETE, len(inv.line), inv.line)
            try:
                name = canonical_interface("".join(words[1:]))
            except AddressError:
                raise inv.invalid(len(inv.args) - len(words) + 1) from None
            section = _interface_section(text, name)
            if section is None:
                raise inv.invalid(len(inv.args) - len(words) + 1)
            return f"Building configuration...\n\nCurrent configuration : {len(section)} bytes\n!\n{section}end\n"
        raise inv.invalid(len(inv.args) - len(words))
    return f"Building configuration...\n\nCurrent configuration : {len(text)} bytes\n{text}"


def _interface_section(text: str, name: str) -> str | None:
    lines = text.splitlines()
    header = f"interface {name}"
    for index, line in enumerate(lines):
        if line == header:
            end = index + 1
            while end < len(lines) and lines[end].startswith(" "):
                end += 1
            return "\n".join(lines[index:end]) + "\n"
    return None


def show_startup(shell: Shell, inv: Invocation) -> Output:
    inv.expect_none()
    startup = shell.state.startup
    if startup is None:
        return "startup-config is not present\n"
    return f"Using {len(startup)} out of {NVRAM_BYTES} bytes\n{startup}"


# --- archive ---------------------------------------------------------------------------------------

def archive_enabled(shell: Shell) -> bool:
    return any(block.header.strip() == "archive" for block in shell.network.config(shell.device).extra)


def show_archive(shell: Shell, inv: Invocation) -> Output:
    inv.expect_none()
    if not archive_enabled(shell):
        return "Archive feature not enabled\n"
    block = next(b for b in shell.network.config(shell.device).extra if b.header.strip() == "archive")
    path = next((c.split(None, 1)[1] for c in block.children if c.startswith("path ") and " " in c), None)
    lines = ["The maximum archive configurations allowed is 10."]
    if path:
        lines.append(f"The next archive file will be named {path}-1")
    else:
        lines.append("There are currently 0 archive configurations saved.")
    lines.append(" Archive #  Name")
    lines.extend(f"   {i:<8}" for i in range(1, 11))
    return "\n".join(lines) + "\n"


def show_rollback_timer(shell: Shell, inv: Invocation) -> Output:
    inv.expect_none()
    return "%No Rollback Confirmed Change pending\n"


def _diff_side(shell: Shell, inv: Invocation, index: int) -> str | None:
    path = _path_arg(inv, index)
    text = read_source(shell, path)
    if text is None:
        return None
    if path.fs == "system:":
        return shell.lab.running_display(shell.device, stamp=False)
    return canonical_display(shell, text)


def show_archive_differences(shell: Shell, inv: Invocation) -> Output:
    words = inv.words()
    if len(words) > 3 or (len(words) == 3 and words[2].lower() != "ignorecase"[: len(words[2])]):
        raise inv.invalid(min(len(words) - 1, 3))
    paths = [w for w in words if parse_path(w) is not None]
    if not paths:
        base = canonical_display(shell, shell.state.startup or "")
        new = shell.lab.running_display(shell.device, stamp=False)
        return render_differences(base, new)
    if len(paths) == 1:
        new = _diff_side(shell, inv, 0)
        if new is None:
            return error_opening(_path_arg(inv, 0)) + "\n"
        return render_differences(shell.lab.running_display(shell.device, stamp=False), new)
    base, new = _diff_side(shell, inv, 0), _diff_side(shell, inv, 1)
    if base is None or new is None:
        return error_opening(_path_arg(inv, 0 if base is None else 1)) + "\n"
    return render_differences(base, new)


def show_incremental_diffs(shell: Shell, inv: Invocation) -> Output:
    path = _path_arg(inv, 0)
    for index, word in enumerate(inv.words()[1:], start=1):
        if not "ignorecase".startswith(word.lower()):
            raise inv.invalid(index)
    text = read_source(shell, path)
    if text is None:
        return error_opening(path) + "\n"
    fork = shell.network.fork()
    errors = _paste(fork.config_session(shell.device), text)
    if errors:
        return _line_errors(errors)
    before = shell.lab.running_display(shell.device, stamp=False)
    after = display_config(fork.running_config(shell.device))
    commands = []
    if contextual_diff(before, after):
        commands = merge_commands(before, clean_config_text(text)) or incremental_commands(before, after)
    if not commands:
        return "!List of Commands:\nend\n!No changes were found\n"
    return "!List of Commands:\n" + "\n".join(commands) + "\nend\n"


# --- configure replace -----------------------------------------------------------------------------

REPLACE_OPTIONS = ("force", "ignorecase", "list", "nolock", "revert", "time", "trigger", "error", "timer")
REPLACE_WARNING = (
    "This will apply all necessary additions and deletions\n"
    "to replace the current running configuration with the\n"
    "contents of the specified configuration file, which is\n"
    "assumed to be a complete configuration, not a partial\n"
    "configuration. Enter Y if you are sure you want to proceed. ? [no]: "
)


def configure_replace(shell: Shell, inv: Invocation) -> Output:
    path = _path_arg(inv, 0)
    options: set[str] = set()
    for index, token in enumerate(inv.args[1:], start=1):
        word = token.text.lower()
        if word.isdigit() and options & {"time", "timer"}:
            continue
        matches = [o for o in REPLACE_OPTIONS if o.startswith(word)]
        if len(matches) != 1:
            raise inv.invalid(index)
        options.add(matches[0])
    text = read_source(shell, path)
    if text is None:
        return error_opening(path) + "\n"

    def replace() -> Output:
        errors = shell.network.replace_config(shell.device, clean_config_text(text))
        if errors:
            failed = "".join(f"Failed to apply command {e.line.strip()}\n" for e in errors)
            return (failed + _line_errors(errors)
                    + "%Configuration replace failed. The original configuration has been successfully restored.\n")
        shell.lab.touch(shell.device, shell.username)
        return "Total number of passes: 1\nRollback Done\n"

    if "force" in options:
        return replace()
    return Question(REPLACE_WARNING, lambda answer: replace() if answer.strip().lower() in ("y", "yes") else None)
