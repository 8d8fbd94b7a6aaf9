from webview_kit import live
from webview_kit.page import page_params, require_user, webview_context
from webview_kit.params import Param
from webview_kit.publish import user_room

no_cache = 1
# A live DocType: the only one, or the one `doctype` names.
webview_params = {"doctype": Param(required=False)}


def get_context(context):
	user = require_user()
	doctype = live.requested_doctype(page_params())
	room = user_room(user)
	# The room's position first, the rows second: a change in between is replayed, not lost.
	webview_context(context, [room], lists=[doctype])
	context.doctype = doctype
	context.target = live.list_target(doctype)
	context.rows = live.list_rows(doctype)
	context.title_field, context.chips = live.list_columns(doctype)
	context.title = doctype
