"""Where a freshly minted Private Integration token goes: one module per sink kind.

:mod:`.base` is the :class:`~.base.Sink` protocol every kind implements; :mod:`.file`,
:mod:`.env_file` and :mod:`.command` are the kinds; :mod:`.registry` maps a
``SinkKind`` to its class, exhaustively (no import-time registration); :mod:`.disk`
holds what the file-writing kinds share; :mod:`.routing` finds the sink of a declared
integration and checks a plan's sinks before anything is minted.
"""
