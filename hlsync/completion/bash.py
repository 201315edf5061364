"""Bash completion for ``hlsync``, rendered from the command tree (:mod:`.tree`).

The script is four lookup functions generated from the tree (a command's subcommands,
its flags, what a flag's value completes to, what its n-th positional completes to)
and one fixed function, ``_hlsync``, that walks the words before the cursor: a
subcommand deepens the command path, a flag that takes a value skips that value
(``--format json`` and ``--format=json`` alike: bash splits words at ``=``), anything
else counts as a positional. Then it completes a flag's value, a flag (the word starts
with ``-``), a subcommand, or the positional at that index. The lookups answer in
``REPLY``, so completing forks no subshell per word. Files and folders go through
``compgen -f``/``-d`` with ``compopt -o filenames`` (names with spaces stay whole).
"""

from __future__ import annotations

from collections.abc import Iterable

from hlsync import __version__
from hlsync.completion.tree import Node, Value, shell_word

_HEAD = """\
# bash completion for hlsync {version}, generated from its argument parser by
# `hlsync completion bash`. Load it from ~/.bashrc:
#     eval "$(hlsync completion bash)"
# or save it as ~/.local/share/bash-completion/completions/hlsync
"""

_MAIN = """\
_hlsync_value() {
    case "$1" in
        =*) COMPREPLY=($(compgen -W "${1#=}" -- "$2")) ;;
        @file)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -f -- "$2")
            ;;
        @dir)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -d -- "$2")
            ;;
        *) COMPREPLY=() ;;
    esac
}

_hlsync() {
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="" flag="" path="hlsync"
    local index=0 i=1 word REPLY
    while [ "$i" -lt "$COMP_CWORD" ]; do
        word="${COMP_WORDS[i]}"
        case "$word" in
            -*=*) ;;
            -*)
                _hlsync_flag_value "$path" "$word"
                if [ -n "$REPLY" ]; then
                    i=$((i + 1))
                    if [ "${COMP_WORDS[i]}" = "=" ]; then i=$((i + 1)); fi
                fi
                ;;
            *)
                _hlsync_children "$path"
                if [ "$index" -eq 0 ] && [[ " $REPLY " == *" $word "* ]]; then
                    path="$path $word"
                else
                    index=$((index + 1))
                fi
                ;;
        esac
        i=$((i + 1))
    done
    if [ "$COMP_CWORD" -ge 1 ]; then prev="${COMP_WORDS[COMP_CWORD - 1]}"; fi
    if [ "$cur" = "=" ]; then
        flag="$prev"
        cur=""
    elif [ "$prev" = "=" ] && [ "$COMP_CWORD" -ge 2 ]; then
        flag="${COMP_WORDS[COMP_CWORD - 2]}"
    else
        flag="$prev"
    fi
    REPLY=""
    case "$flag" in -*) _hlsync_flag_value "$path" "$flag" ;; esac
    if [ -n "$REPLY" ]; then
        _hlsync_value "$REPLY" "$cur"
        return 0
    fi
    case "$cur" in
        -*)
            _hlsync_flags "$path"
            COMPREPLY=($(compgen -W "$REPLY" -- "$cur"))
            return 0
            ;;
    esac
    _hlsync_children "$path"
    if [ -n "$REPLY" ] && [ "$index" -eq 0 ]; then
        COMPREPLY=($(compgen -W "$REPLY" -- "$cur"))
        return 0
    fi
    _hlsync_positional "$path" "$index"
    _hlsync_value "$REPLY" "$cur"
}

complete -F _hlsync hlsync
"""


def render_bash(root: Node) -> str:
    nodes = root.walk()
    children = [(n.words, _words(c.path[-1] for c in n.children)) for n in nodes]
    flags = [(n.words, _words(f for o in n.options for f in o.flags)) for n in nodes]
    values = [
        (f"{n.words} {flag}", _completes(o.value))
        for n in nodes
        for o in n.options
        if o.value is not None
        for flag in o.flags
    ]
    positionals = [
        (f"{n.words} {i}", _completes(p.value))
        for n in nodes
        for i, p in enumerate(n.positionals)
    ]
    return "\n".join(
        [
            _HEAD.format(version=__version__),
            _lookup("_hlsync_children", "the subcommands of a command", children),
            _lookup("_hlsync_flags", "the flags of a command", flags),
            _lookup(
                "_hlsync_flag_value",
                "what a flag's value completes to (=choices, @file, @dir, @text); "
                "empty: the flag takes no value",
                values,
            ),
            _lookup(
                "_hlsync_positional",
                "what a command's positional argument at an index completes to",
                positionals,
            ),
            _MAIN,
        ]
    )


def _completes(value: Value) -> str:
    if value.kind == "choices":
        return "=" + " ".join(shell_word(c) for c in value.choices)
    return f"@{value.kind}"


def _words(words: Iterable[str]) -> str:
    return " ".join(shell_word(w) for w in words)


def _lookup(name: str, what: str, rows: list[tuple[str, str]]) -> str:
    """A function answering in ``REPLY`` the text of the row whose key is its
    arguments joined by a space (each row's text is made of checked plain words)."""
    lines = [f"# {what}", f"{name}() {{", '    case "$1${2:+ $2}" in']
    for key, text in rows:
        if text:
            lines.append(f'        "{_words(key.split())}") REPLY="{text}" ;;')
    lines += ['        *) REPLY="" ;;', "    esac", "}"]
    return "\n".join(lines) + "\n"
