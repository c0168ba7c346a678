// A small Celery module with one read-modify-write and one check-then-act: shared by the analyzer
// and language-server unit tests.
export const TWO_RACES = `from celery import shared_task
count = 0
cache = {}

@shared_task
def bump():
    global count
    count += 1

@shared_task
def remember(k, v):
    if k not in cache:
        cache[k] = v
`;
