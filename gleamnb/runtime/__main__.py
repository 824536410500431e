"""``python -m gleamnb.runtime``: an executor process (see :mod:`gleamnb.runtime.protocol`)."""

from __future__ import annotations

from gleamnb.runtime.executor import main

if __name__ == "__main__":
    main()
