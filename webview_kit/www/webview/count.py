from webview_kit.page import require_user, webview_context
from webview_kit.publish import EVENT_COUNT, user_room

no_cache = 1


def get_context(context):
	room = user_room(require_user())
	latest = webview_context(context, [room])[room]["latest"].get(EVENT_COUNT)
	context.count = latest["data"]["count"] if latest else "–"
	context.title = "Live count"
