import frappe

from webview_kit.page import require_user, webview_context
from webview_kit.progress import EVENT_PROGRESS
from webview_kit.publish import user_room

no_cache = 1

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
	job = frappe.form_dict.get("job") or ""
	if latest and job in ("", latest["data"]["job"]):
		context.progress = latest["data"]
	else:
		context.progress = {**IDLE, "job": job}
	context.job = job
	context.title = "Progress"
