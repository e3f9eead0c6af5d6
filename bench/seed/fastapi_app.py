"""The seed's FastAPI app: POST /send-notification answers at once and logs
the notification with BackgroundTasks, in the same process, after the response.
GET /stats says how many background tasks have finished, for the bench's load
driver (bench/seedLoad.ts), which drives this, the Celery variant and npm start alike.

Run: python3 -m uvicorn fastapi_app:app --port 8001 (from this folder).
"""
import logging

from fastapi import BackgroundTasks, FastAPI

app = FastAPI()
log = logging.getLogger("seed")
finished = 0


def write_log(message: str) -> None:
    global finished
    log.info(message)
    finished += 1


@app.post("/send-notification")
async def send_notification(email: str, background_tasks: BackgroundTasks):
    background_tasks.add_task(write_log, f"Notification sent to {email}")
    return {"message": "Notification sent in the background"}


@app.get("/stats")
async def stats():
    return {"finished": finished}
