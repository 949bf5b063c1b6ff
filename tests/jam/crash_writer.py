"""A writer process for the crash test: posts ideas from many threads, printing acks.

Prints `READY <jam_id> <author_id ...>` once set up, then `ACK <idea_id> <author_id>
<position>` after each command returns, until it is killed.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path
from uuid import uuid4

from jam import commands as c
from jam.application import JamApplication
from jam.clock import system_clock
from jam.settings import Settings
from tests.stories import open_jam

_print_lock = threading.Lock()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir")
    parser.add_argument("--database-url")
    parser.add_argument("--schema", default="")
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()
    if args.database_url:
        settings = Settings(database_url=args.database_url, database_schema=args.schema)
    else:
        settings = Settings(data_dir=Path(args.data_dir))

    class Now:
        now = system_clock()

    app = JamApplication(settings)
    scene = open_jam(app, Now)  # type: ignore[arg-type]
    authors = [scene.join(name=f"Writer {i}") for i in range(args.threads)]
    print("READY", scene.jam_id, *authors, flush=True)

    def write(author) -> None:
        while True:
            idea_id = uuid4()
            done = app.handle(
                c.PostIdea(
                    actor=author,
                    jam_id=scene.jam_id,
                    idea_id=idea_id,
                    forum="health",
                    title="Crash-safe idea",
                    body="Acknowledged means durable.",
                    client_key=idea_id.hex,
                )
            )
            with _print_lock:
                sys.stdout.write(f"ACK {idea_id} {author} {done.position}\n")
                sys.stdout.flush()

    for author in authors:
        threading.Thread(target=write, args=(author,), daemon=True).start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
