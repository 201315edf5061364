"""Fish completion for ``hlsync``, rendered from the command tree (:mod:`.tree`).

``__hlsync_path`` reads the words before the cursor (``commandline -opc``) and prints
the command path they reach (``hlsync token rotate``): a subcommand deepens it until a
positional is seen, and a flag that takes a value skips that value. Every ``complete``
line is guarded by ``__hlsync_at PATH``, so a command's flags and positionals are
offered only after it. Files are completed only where a value or positional is a file.
"""

from __future__ import annotations

from hlsync import __version__
from hlsync.completion.tree import Node, Option, Value, shell_word

_HEAD = """\
# fish completion for hlsync {version}, generated from its argument parser by
# `hlsync completion fish`. Save it where fish finds it:
#     hlsync completion fish > ~/.config/fish/completions/hlsync.fish
"""

_MAIN = """\
function __hlsync_path --description 'the hlsync command path before the cursor'
    set -l words (commandline -opc)
    set -e words[1]
    set -l path hlsync
    set -l skip 0
    set -l positional 0
    for word in $words
        if test $skip = 1
            set skip 0
            continue
        end
        switch $word
            case '-*=*'
            case '-*'
                if contains -- $word (__hlsync_value_flags $path)
                    set skip 1
                end
            case '*'
                if test $positional = 0; and contains -- $word (__hlsync_children $path)
                    set path "$path $word"
                else
                    set positional 1
                end
        end
    end
    echo $path
end

function __hlsync_at --description 'is the command path before the cursor $argv[1]?'
    test (__hlsync_path) = "$argv[1]"
end

complete -c hlsync -f
"""


def render_fish(root: Node) -> str:
    nodes = root.walk()
    lines = [
        _HEAD.format(version=__version__),
        _switch(
            "__hlsync_children",
            [(n.words, [c.path[-1] for c in n.children]) for n in nodes],
        ),
        _switch(
            "__hlsync_value_flags", [(n.words, list(n.value_flags())) for n in nodes]
        ),
        _MAIN,
    ]
    for node in nodes:
        at = f"-n {_quote('__hlsync_at ' + _quote(node.words, double=True))}"
        for child in node.children:
            lines.append(
                f"complete -c hlsync {at} -a {shell_word(child.path[-1])} "
                f"-d {_quote(child.help)}"
            )
        for option in node.options:
            lines.append(f"complete -c hlsync {at} {_option(option)}")
        for positional in node.positionals:
            lines.append(f"complete -c hlsync {at} {_positional(positional.value)}")
        lines.append("")
    return "\n".join(lines)


def _switch(name: str, rows: list[tuple[str, list[str]]]) -> str:
    lines = [f"function {name}", "    switch $argv[1]"]
    for key, words in rows:
        if words:
            lines.append(f"        case {_quote(key)}")
            lines.append(
                "            printf '%s\\n' " + " ".join(shell_word(w) for w in words)
            )
    lines += ["    end", "end", ""]
    return "\n".join(lines)


def _option(option: Option) -> str:
    parts: list[str] = []
    for flag in option.flags:
        shell_word(flag)
        if flag.startswith("--"):
            parts.append(f"-l {flag[2:]}")
        else:
            parts.append(f"-s {flag[1:]}")
    if option.value is not None:
        parts.append(_takes(option.value))
    parts.append(f"-d {_quote(option.help)}")
    return " ".join(parts)


def _takes(value: Value) -> str:
    """An option's value: required (``-r``), and nothing but its values (``-x``)
    unless it is a file."""
    return ("-r " if value.kind == "file" else "-x ") + _positional(value)


def _positional(value: Value) -> str:
    match value.kind:
        case "choices":
            return "-a " + _quote(" ".join(shell_word(c) for c in value.choices))
        case "file":
            return "-F"
        case "dir":
            return "-a '(__fish_complete_directories)'"
        case "text":
            return "-f"


def _quote(text: str, *, double: bool = False) -> str:
    if double:
        return (
            '"'
            + text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
            + '"'
        )
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
