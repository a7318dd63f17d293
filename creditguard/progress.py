"""The percent a progress bar shows for a background job (re-scoring, back-fill, training,
reports): 100 only once the job is finished, at most 99 while it runs."""


def percent_done(done: int, total: int, *, finished: bool) -> int:
    if finished:
        return 100
    return min(99, done * 100 // total) if total else 0
