package extract

import (
	"github.com/closesync/closesync/pkg/schema"
)

// dim declares a configuration report: listed whole and replaced
// atomically each run, so objects deleted in Close disappear.
func dim(name, path string, walk Walker, doc string, columns ...schema.Column) *Report {
	return &Report{Name: name, Sources: src(path), Walk: walk, Method: Full, Doc: doc,
		Table: table(name, cols(columns, []schema.Column{str("organization_id"), ts("date_created"), ts("date_updated"),
			str("created_by"), str("updated_by")}))}
}

func optional(c schema.Child) schema.Child {
	c.Optional = true
	return c
}

// membershipColumns are a membership's fields as /organization/{id}/
// embeds them (user fields prefixed user_).
var membershipColumns = []schema.Column{str("id"), str("user_id"), str("user_email"), str("user_first_name"), str("user_last_name"),
	str("user_full_name"), str("role_id"), str("role"), list("permissions_granted"), ts("date_created")}

func init() {
	smartViews := dim("smart_views", "/saved_search/", Offset{PageSize: 600},
		"Smart Views (`/saved_search/`). The API returns only lead Smart Views unless asked, so closesync asks for `type__in=lead,contact`.",
		str("name"), str("type"), str("query"), js("s_query"), boolean("is_shared"), boolean("is_user_dependent"), str("user_id"))
	smartViews.Sources = src("/saved_search/", "type__in", "lead,contact")

	bulk := dim("bulk_actions", "", Offset{PageSize: 100},
		"Bulk actions of every kind (`/bulk_action/{email,edit,delete,sequence_subscription}/`); `kind` says which.",
		tag("kind"), str("status"), js("s_query"), js("query"), i64("n_objects"), i64("n_objects_processed"), i64("n_leads"),
		i64("n_leads_processed"), str("template_id"), str("type"), str("sequence_id"), str("action_type"), boolean("send_done_email"))
	selfAccounts := dim("users_self_email_accounts", "", Offset{PageSize: 100},
		"The email (and calendar) accounts connected by the API key's user: `/connected_account/?user_id={user_id}`.",
		str("_type"), str("email"), str("user_id"), js("identities"), list("available_features"), str("send_status"), str("receive_status"))
	selfAccounts.Sources = src("/connected_account/", "user_id", "{user_id}")

	bulk.Sources = []Source{{Path: "/bulk_action/email/", Tag: "email"}, {Path: "/bulk_action/edit/", Tag: "edit"},
		{Path: "/bulk_action/delete/", Tag: "delete"}, {Path: "/bulk_action/sequence_subscription/", Tag: "sequence_subscription"}}

	register(
		&Report{
			Name: "organizations", Sources: src("/organization/{organization_id}/"), Walk: Object{}, Method: Full,
			Doc: "The organization (`/organization/{id}/`; the id is the job's `organization_id` or the key's organization from `/me/`). " +
				"Its memberships, inactive memberships, lead and opportunity statuses are child tables.",
			Table: table("organizations", []schema.Column{str("name"), str("status"), str("currency"), str("currency_symbol"),
				str("billing_account_id"), str("leads_email"), ts("date_created"), ts("date_updated"), str("created_by"), str("updated_by")},
				child("organizations_memberships", "organization_id", "memberships", membershipColumns...),
				child("organizations_inactive_memberships", "organization_id", "inactive_memberships", membershipColumns...),
				child("organizations_lead_statuses", "organization_id", "lead_statuses", str("id"), str("label")),
				child("organizations_opportunity_statuses", "organization_id", "opportunity_statuses", str("id"), str("label"), str("type"), str("pipeline_id")),
				optional(child("organizations_invoices", "organization_id", "invoices", str("id"), str("status"), i64("amount"), str("currency"), ts("date_created"))),
			),
		},
		&Report{
			Name: "users_self", Sources: src("/me/"), Walk: Object{}, Method: Full,
			Doc: "The API key's own user (`/me/`). Its organizations, memberships, email signatures and phone numbers are child tables.",
			Table: table("users_self", []schema.Column{str("email"), str("first_name"), str("last_name"), str("image"),
				str("last_used_timezone"), ts("date_created"), ts("date_updated"), ts("email_verified_at")},
				child("users_self_organizations", "user_id", "organizations", str("id"), str("name"), js("memberships")),
				child("users_self_memberships", "user_id", "memberships", str("id"), str("organization_id"), str("role_id"), str("role")),
				child("users_self_email_signatures", "user_id", "email_signatures", str("id"), str("membership_id"), str("value")),
				child("users_self_sip_numbers", "user_id", "phone_numbers", str("id"), str("number"), str("number_formatted"), str("label")),
			),
		},
		selfAccounts,
		dim("pipelines", "/pipeline/", Single{}, "Opportunity pipelines with their statuses (everything in one response; naive UTC timestamps).",
			str("name"), js("statuses")),
		dim("roles", "/role/", Offset{PageSize: 100}, "Roles: the built-in ones (admin, superuser, user, restricteduser) and custom ones.",
			str("name"), list("permissions"), boolean("editable"), js("visibility_user_lcf_ids")),
		dim("groups", "/group/", Offset{PageSize: 100}, "User groups.", str("name"), js("members")),
		dim("sequences", "/sequence/", Offset{PageSize: 1000}, "Sequences (workflows) with their steps.",
			str("name"), str("status"), str("timezone"), str("schedule_id"), js("steps"), str("created_by_id"), str("updated_by_id")),
		dim("sequence_subscriptions", "/sequence_subscription/", Offset{PageSize: 100}, "Contacts subscribed to sequences.",
			str("sequence_id"), str("contact_id"), str("lead_id"), str("status"), str("sender_account_id")),
		dim("custom_activity_types", "/custom_activity/", Offset{PageSize: 100}, "Custom activity types (their instances are in `activities_custom_activity`).",
			str("name"), str("description"), boolean("api_create_only"), js("editable_with_roles"), js("fields")),
		dim("custom_object_types", "/custom_object_type/", Offset{PageSize: 100},
			"Custom object types with their custom field definitions (`fields`; their instances are in `custom_objects`).",
			str("name"), str("name_plural"), str("description"), js("fields")),
		dim("connected_accounts", "/connected_account/", Offset{PageSize: 100}, "Connected email, calendar and Zoom accounts.",
			str("_type"), str("email"), str("user_id"), js("identities"), list("available_features"), str("send_status"), str("receive_status")),
		dim("phone_numbers", "/phone_number/", Offset{PageSize: 100}, "Phone numbers of the organization and its users.",
			str("number"), str("number_formatted"), str("label"), boolean("is_group_number"), str("user_id"), str("country"), boolean("supports_sms")),
		dim("integration_links", "/integration_link/", Offset{PageSize: 100}, "Integration links shown on leads and contacts.",
			str("name"), str("url"), str("type")),
		dim("sms_templates", "/sms_template/", Offset{PageSize: 100}, "SMS templates.", str("name"), str("text"), boolean("is_shared"), boolean("is_archived")),
		dim("email_templates", "/email_template/", Offset{PageSize: 100}, "Email templates.",
			str("name"), str("subject"), str("body"), js("attachments"), boolean("is_shared"), boolean("is_archived")),
		smartViews,
		dim("send_as", "/send_as/", Offset{PageSize: 100}, "Send-as permissions between users.", str("allowing_user_id"), str("allowed_user_id")),
		dim("outcomes", "/outcome/", Offset{PageSize: 100}, "Call and meeting outcomes.", str("name"), str("type"), js("applies_to")),
		dim("dialers", "/dialer/", Offset{PageSize: 100}, "Power dialer sessions.",
			str("type"), str("status"), str("source_type"), str("source_value"), js("users")),
		dim("webhooks", "/webhook/", Offset{PageSize: 100}, "Webhook subscriptions.", str("url"), js("events"), str("status"), boolean("verify_ssl")),
		dim("exports", "/export/", Offset{PageSize: 100}, "Exports requested in the organization.",
			str("type"), str("format"), str("status"), str("download_url"), i64("n_leads")),
		bulk,
	)
}
