"""The seed's endpoint handing its work to Celery, with Redis as the broker:
POST /send-notification enqueues write_log, a Celery worker runs it. The task
counts itself in Redis, so GET /stats can say how many have finished.

Run (from this folder): redis-server; celery -A celery_app:celery worker;
python3 -m uvicorn celery_app:app --port 8002. REDIS_URL names the broker.
"""
import logging
import os

import redis
from celery import Celery
from fastapi import FastAPI

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
DONE_KEY = "seed:finished"

celery = Celery("seed", broker=REDIS_URL)
celery.conf.update(task_ignore_result=True, worker_hijack_root_logger=False)
counter = redis.Redis.from_url(REDIS_URL)
log = logging.getLogger("seed")


@celery.task(name="write_log")
def write_log(message: str) -> None:
    log.info(message)
    counter.incr(DONE_KEY)


app = FastAPI()


@app.post("/send-notification")
def send_notification(email: str):
    write_log.delay(f"Notification sent to {email}")
    return {"message": "Notification sent in the background"}


@app.get("/stats")
def stats():
    return {"finished": int(counter.get(DONE_KEY) or 0)}
