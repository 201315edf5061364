"""One apply per location at a time (DESIGN.md §8, issue 9 item 1).

* :mod:`~hlsync.locks.lockfile` — on one machine: ``.hlsync/locks/<location>.lock``
  beside the config, held with ``fcntl.flock`` (the kernel releases it when the
  process dies, however it dies);
* :mod:`~hlsync.locks.lease` — across machines: an advisory lease kept in the account
  itself, the location custom value ``hlsync lock`` (owner, run id, start, expiry on
  the upstream's clock), needing nothing but the upstream API;
* :mod:`~hlsync.locks.guard` — what ``apply`` and the token verbs use: both locks for
  every location they target (waiting up to ``--lock-timeout``), the lease renewed
  in the background while the run lasts, released at the end.
"""
