// Copyright (c) 2025, webview_kit developers and contributors
// For license information, please see license.txt

// frappe.ui.form.on("Webview Demo Task", {
// 	refresh(frm) {

// 	},
// });
