from webview_kit.page import page_params, require_user, webview_context
from webview_kit.params import Param
from webview_kit.progress import EVENT_PROGRESS
from webview_kit.publish import user_room

no_cache = 1
webview_params = {"job": Param(required=False)}  # the job to show; the latest without it

IDLE = {
	"job": "",
	"title": "No job yet",
	"stages": [],
	"stage": 0,
	"percent": 0,
	"state": "idle",
	"message": "",
}


def get_context(context):
	room = user_room(require_user())
	latest = webview_context(context, [room])[room]["latest"].get(EVENT_PROGRESS)
	job = page_params().get("job") or ""
	if latest and job in ("", latest["data"]["job"]):
		context.progress = latest["data"]
	else:
		context.progress = {**IDLE, "job": job}
	context.job = job
	context.title = "Progress"
