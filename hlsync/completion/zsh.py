"""Zsh completion for ``hlsync``, rendered from the command tree (:mod:`.tree`).

One function per command, ``_hlsync__<path>``, each a call of zsh's ``_arguments``
with the command's flags (``--out=[help]:FILE:_files``; ``*`` before a repeatable
one; ``(- *)`` before ``--help`` and ``--version``, after which nothing follows) and
positionals; a command with subcommands completes their names with ``_describe`` and
hands the rest of the line to the chosen one's function (``*::`` shifts ``words``).
"""

from __future__ import annotations

from hlsync import __version__
from hlsync.completion.tree import Node, Option, Positional, Value, shell_word

_HEAD = """\
#compdef hlsync
# zsh completion for hlsync {version}, generated from its argument parser by
# `hlsync completion zsh`. Save it as _hlsync in a folder of $fpath, e.g.
#     hlsync completion zsh > ~/.zfunc/_hlsync   (with fpath+=(~/.zfunc) before
# compinit in ~/.zshrc), or load it after compinit: source <(hlsync completion zsh)
"""

_TAIL = """\
if [ "$funcstack[1]" = "_hlsync" ]; then
    _hlsync__hlsync "$@"
else
    compdef _hlsync__hlsync hlsync
fi
"""


def render_zsh(root: Node) -> str:
    functions = [_function(node) for node in root.walk()]
    return "\n".join([_HEAD.format(version=__version__), *functions, _TAIL])


def _name(node: Node) -> str:
    return "_hlsync__" + "_".join(part.replace("-", "_") for part in node.path)


def _function(node: Node) -> str:
    specs = [_option(o) for o in node.options]
    if node.children:
        specs += ["'1: :->command'", "'*:: :->argument'"]
    else:
        specs += [_positional(i, p) for i, p in enumerate(node.positionals, 1)]
    lines = [
        f"{_name(node)}() {{",
        '    local curcontext="$curcontext" state state_descr line ret=1',
        "    typeset -A opt_args",
        "    _arguments -C -s \\",
    ]
    lines += [f"        {spec} \\" for spec in specs[:-1]]
    lines.append(f"        {specs[-1]} && ret=0")
    if node.children:
        lines += [
            "    case $state in",
            "        command)",
            "            local -a commands",
            "            commands=(",
            *[
                f"                {_quote(c.path[-1] + ':' + c.help)}"
                for c in node.children
            ],
            "            )",
            f"            _describe -t commands {_quote(node.words + ' command')} "
            "commands && ret=0",
            "            ;;",
            "        argument)",
            '            curcontext="${curcontext%:*:*}:'
            + node.path[-1]
            + '-$line[1]:"',
            "            case $line[1] in",
            *[
                f"                {shell_word(c.path[-1])}) {_name(c)} && ret=0 ;;"
                for c in node.children
            ],
            "            esac",
            "            ;;",
            "    esac",
        ]
    lines += ["    return ret", "}", ""]
    return "\n".join(lines)


def _option(option: Option) -> str:
    flags = [shell_word(f) for f in option.flags]
    described = f"[{_bracketed(option.help)}]"
    value = "" if option.value is None else ":" + _value(option.value)
    equals = "=" if option.value is not None and len(flags) == 1 else ""
    if option.exclusive:
        guard = "'(- *)'"
    elif option.repeatable:
        guard = "'*'"
    elif len(flags) > 1:
        guard = "'(" + " ".join(flags) + ")'"
    else:
        guard = ""
    body = _quote(f"{described}{value}")
    if len(flags) > 1:
        return f"{guard}{{{','.join(flags)}}}{body}"
    return f"{guard}{_quote(flags[0] + equals)}{body}"


def _positional(index: int, positional: Positional) -> str:
    colons = "::" if positional.optional else ":"
    return _quote(f"{index}{colons}{_value(positional.value)}")


def _value(value: Value) -> str:
    message = value.label.replace(":", " ")
    match value.kind:
        case "choices":
            action = "(" + " ".join(shell_word(c) for c in value.choices) + ")"
        case "file":
            action = "_files"
        case "dir":
            action = "_files -/"
        case "text":
            action = " "
    return f"{message}:{action}"


def _bracketed(text: str) -> str:
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"
