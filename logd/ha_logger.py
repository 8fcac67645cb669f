"""`ha_logger`: write a line to the cluster log, as heartbeat's ha_logger did.

    ha_logger [-t TAG] [-D ha-log|ha-debug] [MESSAGE ...]

Like heartbeat's tool, every MESSAGE argument is one record (quote a sentence to keep it on one
line); with no MESSAGE, every line of standard input is one record. `-t` sets the tag that
appears where the daemon name goes (default `cluster`, heartbeat's default entity); `-D ha-debug`
logs at debug priority, so the line lands in `debugfile` only unless ha.cf has `debug` > 0.
Records go to ha-logd; when logd is not running they are written directly to the files ha.cf
names (heartbeat's tool gave up instead), so nothing is lost.
"""

from __future__ import annotations

import argparse
import sys
from typing import Iterable, Optional

import zmq

from core import paths as pathmod
from core.daemon import load_config
from core.errors import ConfigError
from core.log import Logger

CONNECT_WAIT_MS = 500
DEFAULT_TAG = "cluster"
LOGTYPES = {"ha-log": "info", "ha-debug": "debug"}


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ha_logger", description="write a line to the cluster log")
    pathmod.add_arguments(parser)
    parser.add_argument("-t", dest="tag", default=DEFAULT_TAG, help="tag (entity) of the lines")
    parser.add_argument("-D", dest="logtype", default="ha-log", choices=sorted(LOGTYPES),
                        help="ha-log (info) or ha-debug (debug)")
    parser.add_argument("message", nargs="*", help="one record per argument; stdin lines when none")
    return parser.parse_args(argv)


def records(args: argparse.Namespace, stdin: Iterable[str]) -> Iterable[str]:
    if args.message:
        yield from args.message
        return
    for line in stdin:
        yield line[:-1] if line.endswith("\n") else line


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    paths = pathmod.from_args(args)
    try:
        config = load_config(paths, check_host=False)
    except ConfigError as exc:
        print(f"ha_logger: {exc}; logging to stderr", file=sys.stderr)
        config = None
    if config is None:
        log = Logger(args.tag, paths, use_logd=True)
    else:
        log = Logger(args.tag, paths, use_logd=config.use_logd, logfile=config.logfile,
                     debugfile=config.debugfile, facility=config.logfacility, debug_level=config.debug)
    level = LOGTYPES[args.logtype]
    try:
        log.wait_for_logd(CONNECT_WAIT_MS)
        for text in records(args, sys.stdin):
            log.log(level, "%s", text)
    finally:
        log.close()
        zmq.Context.instance().term()  # returns once queued records are handed over (LINGER)
    return 0


if __name__ == "__main__":
    sys.exit(main())
