"""Records whose work goes to the workers in steps instead of one task:

- a big record (more pages than `pipeline.pages_per_task`) is read in parts on all the
  workers at once, each part with a small task that counts its pages for the progress;
- a record that the paper register may name only by a code on its page 1 (a QR code or a
  printed code; its folder name is no registered code) is read first; the driver learns the
  code from a small task, names the file by the register in its next commit, and only then
  is the file built and signed: once, with its final name and metadata.

In both cases `finish_record` joins the parts on one worker: one result, one commit. The
pages go from worker to worker, never through the driver."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.orm import Session

from sohoa.pipeline.run_state import RunState
from sohoa.pipeline.worker import RecordTask, codes_in, finish_record, pages_in, read_part


def in_steps(run: RunState, task: RecordTask) -> bool:
    if run.settings.engine == "null":  # the benchmark engine reads no page
        return False
    return (task.pages or 0) > run.pages_per_task or _named_by_page_one(run, task)


def _named_by_page_one(run: RunState, task: RecordTask) -> bool:
    return run.names is not None and task.register is None and run.settings.codes.enabled


def send_reading(client, run: RunState, task: RecordTask, completed) -> None:
    """Send the record's reading, in parts when it is big; then either its finish at once,
    or a task that tells the driver the codes on page 1 (`on_codes`)."""
    expected, size = run.expected[task.uid], run.pages_per_task
    pages = task.pages or 0
    ranges: list[range | None] = [range(first, min(first + size, pages))
                                  for first in range(0, pages, size)]  # fmt: skip
    if len(ranges) < 2:
        ranges = [None]  # one part: every page, as `process_records` reads them
    parts = []
    for only in ranges:
        part = client.submit(read_part, task, expected, run.settings, only,
                             key=run.key("part", task.uid), pure=False)  # fmt: skip
        parts.append(part)
        if len(ranges) > 1:
            counter = client.submit(pages_in, part, key=run.key("pages", task.uid), pure=False)
            run.page_counters[counter] = task
            completed.add(counter)
    if len(ranges) > 1:
        run.pages_shown[task.uid] = 0
    if _named_by_page_one(run, task):
        probe = client.submit(codes_in, parts[0], key=run.key("codes", task.uid), pure=False)
        run.reading[task.uid] = parts
        run.in_flight[probe] = ("codes", [task])
        completed.add(probe)
    else:
        _send_finish(client, run, task, parts, completed)


def on_codes(session: Session, run: RunState, task: RecordTask, found: dict) -> None:
    """In the commit: the register item a code on page 1 names, numbered; the record's
    finish is sent after the commit (`send_finishes`)."""
    assert run.names is not None
    run.to_finish.append((task, run.names.entry_for_found(session, found)))


def send_finishes(client, run: RunState, completed) -> None:
    finishing, run.to_finish = run.to_finish, []
    for task, entry in finishing:
        parts = run.reading.pop(task.uid)
        _send_finish(client, run, replace(task, register=entry), parts, completed)


def _send_finish(client, run: RunState, task: RecordTask, parts: list, completed) -> None:
    key = run.key("process", task.uid)
    future = client.submit(finish_record, task, run.expected[task.uid], run.settings, parts,
                           key=key, pure=False)  # fmt: skip
    run.in_flight[future] = ("process", [task])
    completed.add(future)


def note_part_pages(run: RunState, batch: list) -> list:
    """Progress from the page counters among finished tasks; returns the other results."""
    rest = []
    for future, result in batch:
        task = run.page_counters.pop(future, None)
        if task is None:
            rest.append((future, result))
        elif future.status == "finished" and task.uid in run.pages_shown:
            run.pages_shown[task.uid] += result
            run.reporter.pages_read(task.rel_path, result)
            run.keep["pages"] = future
    return rest
