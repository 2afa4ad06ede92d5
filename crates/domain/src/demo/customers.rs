//! The customer entities of the demo org: account and contact.

use super::build::{
    ACTIVE_STATES, ACTIVE_STATUSES, AttrExt, big, choice, date, default, entity, lookup, main_form,
    memo, money, quick_find, system, tab, text, view, whole, yes_no,
};
use super::{ACTIVE, MY_ACTIVE};
use crate::metadata::EntityDef;

/// Companies the organization does business with.
pub(super) fn account() -> EntityDef {
    let mut attributes = vec![
        text("name", "Account name", 160).required(),
        text("accountnumber", "Account number", 20),
        text("telephone1", "Main phone", 50),
        text("emailaddress1", "Email", 100),
        text("websiteurl", "Website", 200),
        text("address1_line1", "Street", 250),
        text("address1_city", "City", 80),
        text("address1_postalcode", "Postal code", 20),
        text("address1_country", "Country", 80),
        choice(
            "industrycode",
            "Industry",
            &[
                (1, "Accounting"),
                (2, "Agriculture"),
                (3, "Construction"),
                (4, "Consulting"),
                (5, "Manufacturing"),
                (6, "Retail"),
                (7, "Transportation"),
            ],
        ),
        choice(
            "customertypecode",
            "Relationship type",
            &[
                (1, "Competitor"),
                (2, "Customer"),
                (3, "Partner"),
                (4, "Prospect"),
            ],
        ),
        money("revenue", "Annual revenue"),
        money("creditlimit", "Credit limit").secured(),
        yes_no("creditonhold", "Credit hold"),
        whole("numberofemployees", "Number of employees", 0, 1_000_000),
        big("sharesoutstanding", "Shares outstanding"),
        date("lastvisitdate", "Last visit"),
        lookup("primarycontactid", "Primary contact", &["contact"]),
        lookup("parentaccountid", "Parent account", &["account"]),
        lookup("originatingleadid", "Originating lead", &["lead"]).read_only(),
        memo("description", "Description"),
    ];
    attributes.extend(system(&ACTIVE_STATES, &ACTIVE_STATUSES));
    let mut e = entity("account", "Account", "Accounts", "name", attributes);
    e.quick_find = quick_find(&["name", "accountnumber", "telephone1", "emailaddress1"]);
    e.forms = vec![main_form(vec![
        tab(
            "summary",
            "Summary",
            &[
                (
                    "info",
                    "Account information",
                    &[
                        "name",
                        "accountnumber",
                        "telephone1",
                        "emailaddress1",
                        "websiteurl",
                        "parentaccountid",
                        "primarycontactid",
                    ],
                ),
                (
                    "address",
                    "Address",
                    &[
                        "address1_line1",
                        "address1_city",
                        "address1_postalcode",
                        "address1_country",
                    ],
                ),
            ],
        ),
        tab(
            "details",
            "Details",
            &[
                (
                    "company",
                    "Company profile",
                    &[
                        "industrycode",
                        "customertypecode",
                        "revenue",
                        "numberofemployees",
                        "sharesoutstanding",
                        "lastvisitdate",
                        "description",
                    ],
                ),
                ("billing", "Billing", &["creditlimit", "creditonhold"]),
                (
                    "system",
                    "System",
                    &["ownerid", "originatingleadid", "createdon", "modifiedon"],
                ),
            ],
        ),
    ])];
    let columns = [
        "name",
        "telephone1",
        "address1_city",
        "primarycontactid",
        "ownerid",
    ];
    e.views = vec![
        default(view(
            "account-my-active",
            "My Active Accounts",
            &columns,
            Some(MY_ACTIVE),
            &["name"],
        )),
        view(
            "account-active",
            "Active Accounts",
            &columns,
            Some(ACTIVE),
            &["name"],
        ),
        view(
            "account-on-credit-hold",
            "Accounts on Credit Hold",
            &["name", "creditonhold", "revenue", "ownerid"],
            Some("statecode eq 0 and creditonhold eq true"),
            &["-revenue"],
        ),
    ];
    e
}

/// People the organization does business with.
pub(super) fn contact() -> EntityDef {
    let mut attributes = vec![
        text("fullname", "Full name", 160).read_only(),
        text("firstname", "First name", 50).recommended(),
        text("lastname", "Last name", 50).required(),
        text("jobtitle", "Job title", 100),
        text("emailaddress1", "Email", 100),
        text("telephone1", "Business phone", 50),
        text("mobilephone", "Mobile phone", 50),
        text("address1_city", "City", 80),
        lookup("parentcustomerid", "Company name", &["account"]),
        date("birthdate", "Birthday"),
        choice(
            "preferredcontactmethodcode",
            "Preferred method of contact",
            &[(1, "Any"), (2, "Email"), (3, "Phone")],
        ),
        yes_no("donotemail", "Do not allow emails"),
        lookup("originatingleadid", "Originating lead", &["lead"]).read_only(),
        memo("description", "Description"),
    ];
    attributes.extend(system(&ACTIVE_STATES, &ACTIVE_STATUSES));
    let mut e = entity("contact", "Contact", "Contacts", "fullname", attributes);
    e.quick_find = quick_find(&["fullname", "emailaddress1", "telephone1", "mobilephone"]);
    e.forms = vec![main_form(vec![
        tab(
            "summary",
            "Summary",
            &[
                (
                    "info",
                    "Contact information",
                    &[
                        "firstname",
                        "lastname",
                        "jobtitle",
                        "parentcustomerid",
                        "emailaddress1",
                        "telephone1",
                        "mobilephone",
                    ],
                ),
                ("address", "Address", &["address1_city"]),
            ],
        ),
        tab(
            "details",
            "Details",
            &[
                (
                    "personal",
                    "Personal information",
                    &["birthdate", "description"],
                ),
                (
                    "preferences",
                    "Contact preferences",
                    &["preferredcontactmethodcode", "donotemail"],
                ),
                (
                    "system",
                    "System",
                    &["ownerid", "originatingleadid", "createdon", "modifiedon"],
                ),
            ],
        ),
    ])];
    let columns = [
        "fullname",
        "parentcustomerid",
        "emailaddress1",
        "telephone1",
        "ownerid",
    ];
    e.views = vec![
        default(view(
            "contact-my-active",
            "My Active Contacts",
            &columns,
            Some(MY_ACTIVE),
            &["fullname"],
        )),
        view(
            "contact-active",
            "Active Contacts",
            &columns,
            Some(ACTIVE),
            &["fullname"],
        ),
    ];
    e
}
