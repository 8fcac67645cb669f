"""pengine, the policy engine daemon: the shell around `pengine.process.PengineProcess`.

It serves `pengine.sock` and keeps every input it scheduled as `<statedir>/pengine/pe-input-N.xml`
(the newest `pe-input-series-max`, default 400), so that `hb simulate -x FILE` replays any
decision the cluster made.

Memory is collected between transitions, not during one. A transition builds a large web of
objects with cycles (resources, actions and orderings point at each other): with the automatic
collector on, its full collections ran while the DC waited and took a third of the time per
transition at 8 nodes / 1,000 resources. So the daemon freezes what start-up loaded (it is never
garbage), turns the automatic collector off, and collects once after each transition, after
the reply has been sent (`Scheduled` is the core's last effect of a transition), and then
gives the C heap's free pages back to the kernel (core/heaptrim.py): at 32 nodes / 10,000
resources that keeps ~50 MB less between transitions, so the next input received comes on top
of less (peak RSS 625 -> ~525 MB in bench/pengine_daemon.py).

A large input comes by file (core/spool.py: the crmd's Bus spools it, this daemon's maps it):
the core reads it giving its pages back as it goes, and `save` writes it in windows, giving
each back, so that the input is never resident whole (32/10000: peak 452 -> ~290 MB).
"""

from __future__ import annotations

import gc
import os
import re
import sys
from typing import Optional

from core.daemon import DaemonContext, run_daemon
from core.driver import Driver
from core.heaptrim import trim_heap
from core.spool import Mapped
from pengine import process
from pengine.process import PengineProcess, SaveInput, Scheduled

INPUT_DIR = "pengine"
SAVE_WINDOW = 1 << 22  # a mapped input is saved this much at a time, each window given back
_NAME = re.compile(r"^pe-input-(\d+)\.xml$")


def saved_inputs(directory: str) -> list[tuple[int, str]]:
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    found = [(int(m.group(1)), name) for name in names if (m := _NAME.match(name))]
    return sorted(found)


class PengineService:
    def __init__(self, ctx: DaemonContext) -> None:
        self.ctx = ctx
        self.directory = ctx.paths.state_file(INPUT_DIR)
        os.makedirs(self.directory, mode=0o750, exist_ok=True)
        existing = saved_inputs(self.directory)
        self.core = PengineProcess(os.getpid(), first_seq=existing[-1][0] if existing else 0)
        self.driver = Driver(ctx, self.core, serve="pengine", handlers={SaveInput: self.save, Scheduled: self.scheduled})
        self.driver.start()

    def save(self, effect: SaveInput) -> None:
        path = os.path.join(self.directory, f"pe-input-{effect.seq}.xml")
        # not fsync'ed: a record for replay, and the write sits on the failover path
        tmp = f"{path}.tmp"
        if isinstance(effect.body, Mapped):  # handed over by file (core/spool.py): in windows
            body = effect.body
            with open(tmp, "wb") as raw, memoryview(body) as view:
                raw.write(effect.head)  # type: ignore[arg-type]
                for offset in range(effect.body_from, len(body), SAVE_WINDOW):
                    raw.write(view[offset:offset + SAVE_WINDOW])
                    body.release(offset, offset + SAVE_WINDOW)  # (never resident whole)
        elif isinstance(effect.head, bytes):  # the input as received (UTF-8), written unsliced
            with open(tmp, "wb") as raw, memoryview(effect.body) as view:  # type: ignore[arg-type]
                raw.write(effect.head)
                raw.write(view[effect.body_from:])
        else:
            with open(tmp, "w", encoding="utf-8") as handle:
                handle.write(effect.head)
                body, step = effect.body, 1 << 20
                for offset in range(effect.body_from, len(body), step):
                    handle.write(body[offset:offset + step])  # type: ignore[arg-type]
        os.replace(tmp, path)
        inputs = saved_inputs(self.directory)
        for _, name in inputs[:max(0, len(inputs) - effect.keep)]:
            try:
                os.unlink(os.path.join(self.directory, name))
            except OSError:
                pass

    def scheduled(self, effect: Scheduled) -> None:
        self.ctx.log.info(f"transition {effect.transition_id}: {effect.actions} actions, input "
                          f"{os.path.join(self.directory, f'pe-input-{effect.seq}.xml')}")
        release_memory()

    def reload(self) -> None:
        self.ctx.log.info("SIGHUP: nothing to reload")

    def shutdown(self) -> None:
        self.driver.close()


_warmed = False


def warm() -> None:
    """One scheduling run before the first real one (`process.warm`); the launcher calls it
    before forking, a standalone pengine when it starts."""
    global _warmed
    if not _warmed:
        process.warm()
        _warmed = True


def release_memory() -> None:
    """After a transition's reply: collect its garbage (the collector is off during
    transitions), then return the freed heap pages to the kernel."""
    gc.collect()
    trim_heap()


def prepare() -> None:
    """Warm, then take the collector off the transitions' path (see the module docstring)."""
    warm()
    gc.collect()
    gc.freeze()
    gc.disable()


def build(ctx: DaemonContext) -> PengineService:
    prepare()
    return PengineService(ctx)


def main(argv: Optional[list[str]] = None) -> int:
    return run_daemon("pengine", build, argv)


if __name__ == "__main__":
    sys.exit(main())
