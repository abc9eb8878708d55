//! The data model of the professional network: the store's migrations and a descriptor of every
//! table (columns, types, keys, references) that import, export and the tests walk generically.
//!
//! Every table that holds member data carries `member_id`, the shard key, and is indexed on it.
//! Private content (messages, attachments, private notes, closed-group posts) is stored only as
//! opaque sealed bytes in `*_sealed` columns; no plaintext column exists for it.

use crate::migrate::{Migration, MigrationSet, MigrationSql};

/// The store's own migrations.
pub static STORE_MIGRATIONS: MigrationSet = MigrationSet {
    name: "store",
    migrations: &[
        Migration {
            version: 1,
            name: "professional_network",
            sql: MigrationSql::Portable(SCHEMA_V1),
        },
        Migration {
            version: 2,
            name: "erasure_and_dataset_staleness",
            sql: MigrationSql::Portable(SCHEMA_V2),
        },
    ],
};

/// Erasure and dataset staleness. `members.status` marks an erased member's tombstone (the row
/// stays because foreign keys point at it; every personal column is cleared). A
/// `dataset_staleness` row says why a published dataset went stale: one row per member who
/// withdrew consent (`member_id` kept while the member exists) and one row per erased member
/// with `member_id` NULL — only the count survives an erasure.
const SCHEMA_V2: &str = r#"
ALTER TABLE members ADD COLUMN status TEXT NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'erased'));

CREATE TABLE dataset_staleness (
    staleness_id {ID},
    dataset_id TEXT NOT NULL REFERENCES datasets (dataset_id),
    member_id {INT},
    reason TEXT NOT NULL CHECK (reason IN ('consent_withdrawn', 'member_erased')),
    at {INT} NOT NULL
);
CREATE INDEX ix_dataset_staleness_dataset ON dataset_staleness (dataset_id, reason);
CREATE INDEX ix_dataset_staleness_member ON dataset_staleness (member_id);
"#;

const SCHEMA_V1: &str = r#"
CREATE TABLE members (
    member_id {ID},
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT NOT NULL,
    phone TEXT,
    headline TEXT,
    summary TEXT,
    city TEXT,
    region TEXT,
    country TEXT NOT NULL,
    industry TEXT,
    job_function TEXT,
    seniority TEXT,
    company_size TEXT,
    years_experience {INT},
    jurisdiction TEXT NOT NULL,
    gender TEXT,
    birth_year {INT},
    created_at {INT} NOT NULL,
    deleted_at {INT}
);
CREATE INDEX ix_members_email ON members (email);

CREATE TABLE profile_visibility (
    member_id {INT} NOT NULL REFERENCES members (member_id),
    section TEXT NOT NULL,
    visibility TEXT NOT NULL CHECK (visibility IN ('public', 'connections', 'private')),
    PRIMARY KEY (member_id, section)
);

CREATE TABLE companies (
    company_id {ID},
    name TEXT NOT NULL,
    industry TEXT,
    size_band TEXT,
    website TEXT,
    description TEXT,
    created_at {INT} NOT NULL
);

CREATE TABLE positions (
    position_id {ID},
    member_id {INT} NOT NULL REFERENCES members (member_id),
    company_id {INT} REFERENCES companies (company_id),
    company_name TEXT NOT NULL,
    title TEXT NOT NULL,
    start_year {INT} NOT NULL,
    end_year {INT},
    description TEXT
);
CREATE INDEX ix_positions_member ON positions (member_id);

CREATE TABLE education (
    education_id {ID},
    member_id {INT} NOT NULL REFERENCES members (member_id),
    school TEXT NOT NULL,
    degree TEXT,
    field TEXT,
    start_year {INT},
    end_year {INT}
);
CREATE INDEX ix_education_member ON education (member_id);

CREATE TABLE skills (
    member_id {INT} NOT NULL REFERENCES members (member_id),
    skill TEXT NOT NULL,
    endorsements {INT} NOT NULL DEFAULT 0,
    PRIMARY KEY (member_id, skill)
);

CREATE TABLE connections (
    member_id {INT} NOT NULL REFERENCES members (member_id),
    other_member_id {INT} NOT NULL REFERENCES members (member_id),
    created_at {INT} NOT NULL,
    PRIMARY KEY (member_id, other_member_id),
    CHECK (member_id <> other_member_id)
);
CREATE INDEX ix_connections_other ON connections (other_member_id);

CREATE TABLE jobs (
    job_id {ID},
    company_id {INT} NOT NULL REFERENCES companies (company_id),
    title TEXT NOT NULL,
    job_function TEXT,
    seniority TEXT,
    region TEXT,
    country TEXT,
    description TEXT,
    posted_at {INT} NOT NULL
);
CREATE INDEX ix_jobs_company ON jobs (company_id);

CREATE TABLE applications (
    application_id {ID},
    member_id {INT} NOT NULL REFERENCES members (member_id),
    job_id {INT} NOT NULL REFERENCES jobs (job_id),
    applied_at {INT} NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('submitted', 'viewed', 'rejected', 'interview', 'offer', 'withdrawn'))
);
CREATE INDEX ix_applications_member ON applications (member_id);

CREATE TABLE network_groups (
    group_id {ID},
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('open', 'closed')),
    member_id {INT} REFERENCES members (member_id),
    description TEXT,
    created_at {INT} NOT NULL
);
CREATE INDEX ix_network_groups_member ON network_groups (member_id);

CREATE TABLE group_memberships (
    group_id {INT} NOT NULL REFERENCES network_groups (group_id),
    member_id {INT} NOT NULL REFERENCES members (member_id),
    role TEXT NOT NULL CHECK (role IN ('owner', 'moderator', 'member')),
    joined_at {INT} NOT NULL,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX ix_group_memberships_member ON group_memberships (member_id);

CREATE TABLE posts (
    post_id {ID},
    member_id {INT} NOT NULL REFERENCES members (member_id),
    group_id {INT} REFERENCES network_groups (group_id),
    visibility TEXT NOT NULL CHECK (visibility IN ('public', 'connections', 'group_open', 'group_closed')),
    body TEXT,
    body_sealed {BYTES},
    sealing TEXT,
    created_at {INT} NOT NULL,
    CHECK ((visibility = 'group_closed' AND body IS NULL AND body_sealed IS NOT NULL AND sealing IS NOT NULL)
        OR (visibility <> 'group_closed' AND body IS NOT NULL AND body_sealed IS NULL)),
    CHECK ((visibility IN ('group_open', 'group_closed')) = (group_id IS NOT NULL))
);
CREATE INDEX ix_posts_member ON posts (member_id);
CREATE INDEX ix_posts_group ON posts (group_id);

CREATE TABLE engagement_events (
    event_id {ID},
    member_id {INT} NOT NULL REFERENCES members (member_id),
    kind TEXT NOT NULL CHECK (kind IN ('view', 'like', 'comment', 'share', 'click', 'apply')),
    target_kind TEXT NOT NULL CHECK (target_kind IN ('post', 'job', 'member', 'company')),
    target_id {INT} NOT NULL,
    at {INT} NOT NULL
);
CREATE INDEX ix_engagement_events_member ON engagement_events (member_id);

CREATE TABLE search_events (
    event_id {ID},
    member_id {INT} NOT NULL REFERENCES members (member_id),
    query TEXT NOT NULL,
    at {INT} NOT NULL
);
CREATE INDEX ix_search_events_member ON search_events (member_id);

CREATE TABLE conversations (
    conversation_id {ID},
    member_id {INT} NOT NULL REFERENCES members (member_id),
    created_at {INT} NOT NULL
);
CREATE INDEX ix_conversations_member ON conversations (member_id);

CREATE TABLE conversation_participants (
    conversation_id {INT} NOT NULL REFERENCES conversations (conversation_id),
    member_id {INT} NOT NULL REFERENCES members (member_id),
    joined_at {INT} NOT NULL,
    PRIMARY KEY (conversation_id, member_id)
);
CREATE INDEX ix_conversation_participants_member ON conversation_participants (member_id);

CREATE TABLE messages (
    message_id {ID},
    conversation_id {INT} NOT NULL REFERENCES conversations (conversation_id),
    member_id {INT} NOT NULL REFERENCES members (member_id),
    sent_at {INT} NOT NULL,
    content_sealed {BYTES} NOT NULL,
    sealing TEXT NOT NULL,
    verdict TEXT,
    verdict_rule TEXT
);
CREATE INDEX ix_messages_member ON messages (member_id);
CREATE INDEX ix_messages_conversation ON messages (conversation_id);

CREATE TABLE attachments (
    attachment_id {ID},
    message_id {INT} NOT NULL REFERENCES messages (message_id),
    member_id {INT} NOT NULL REFERENCES members (member_id),
    media_type TEXT NOT NULL,
    size_bytes {INT} NOT NULL,
    content_sealed {BYTES} NOT NULL,
    sealing TEXT NOT NULL,
    verdict TEXT,
    verdict_rule TEXT
);
CREATE INDEX ix_attachments_member ON attachments (member_id);
CREATE INDEX ix_attachments_message ON attachments (message_id);

CREATE TABLE private_notes (
    note_id {ID},
    member_id {INT} NOT NULL REFERENCES members (member_id),
    about_member_id {INT} REFERENCES members (member_id),
    created_at {INT} NOT NULL,
    content_sealed {BYTES} NOT NULL,
    sealing TEXT NOT NULL
);
CREATE INDEX ix_private_notes_member ON private_notes (member_id);

CREATE TABLE reports (
    report_id {ID},
    member_id {INT} NOT NULL REFERENCES members (member_id),
    target_kind TEXT NOT NULL CHECK (target_kind IN ('message', 'post', 'member')),
    target_id {INT} NOT NULL,
    reason TEXT NOT NULL,
    created_at {INT} NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'in_review', 'closed'))
);
CREATE INDEX ix_reports_member ON reports (member_id);

CREATE TABLE cases (
    case_id {ID},
    report_id {INT} NOT NULL REFERENCES reports (report_id),
    member_id {INT} NOT NULL REFERENCES members (member_id),
    status TEXT NOT NULL CHECK (status IN ('open', 'in_review', 'decided')),
    decision TEXT,
    opened_at {INT} NOT NULL,
    closed_at {INT}
);
CREATE INDEX ix_cases_member ON cases (member_id);

CREATE TABLE consent_events (
    event_id {ID},
    member_id {INT} NOT NULL REFERENCES members (member_id),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    at {INT} NOT NULL,
    actor TEXT NOT NULL
);
CREATE INDEX ix_consent_events_member ON consent_events (member_id, at);

CREATE TABLE profile_events (
    event_id {ID},
    member_id {INT} NOT NULL REFERENCES members (member_id),
    field TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT,
    at {INT} NOT NULL,
    actor TEXT NOT NULL
);
CREATE INDEX ix_profile_events_member ON profile_events (member_id, at);

CREATE TABLE datasets (
    dataset_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    purpose TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    created_at {INT} NOT NULL,
    member_count {INT} NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('building', 'published', 'stale', 'withdrawn')),
    stale_since {INT}
);

CREATE TABLE dataset_members (
    dataset_id TEXT NOT NULL REFERENCES datasets (dataset_id),
    member_id {INT} NOT NULL,
    PRIMARY KEY (dataset_id, member_id)
);
CREATE INDEX ix_dataset_members_member ON dataset_members (member_id);

CREATE TABLE staff (
    staff_id {ID},
    name TEXT NOT NULL UNIQUE,
    created_at {INT} NOT NULL
);

CREATE TABLE staff_roles (
    staff_id {INT} NOT NULL REFERENCES staff (staff_id),
    role TEXT NOT NULL CHECK (role IN ('reviewer', 'approver', 'engineer', 'auditor', 'admin')),
    PRIMARY KEY (staff_id, role)
);
"#;

/// The type of a column as import, export and tests see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    Int,
    Text,
    /// Opaque sealed bytes of private content. Imported from a plaintext field (the column
    /// name without `_sealed`) that passes through the `Sealer`; exported only as a size.
    Sealed,
}

/// One column.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
    pub nullable: bool,
    /// `(table, column)` this column points at.
    pub references: Option<(&'static str, &'static str)>,
    /// The only values allowed, where the schema restricts them.
    pub allowed: Option<&'static [&'static str]>,
    /// Filled by the store (the sealing scheme), never by input.
    pub derived: bool,
}

const fn col(name: &'static str, ty: ColumnType, nullable: bool) -> Column {
    Column {
        name,
        ty,
        nullable,
        references: None,
        allowed: None,
        derived: false,
    }
}
const fn int(name: &'static str) -> Column {
    col(name, ColumnType::Int, false)
}
const fn opt_int(name: &'static str) -> Column {
    col(name, ColumnType::Int, true)
}
const fn text(name: &'static str) -> Column {
    col(name, ColumnType::Text, false)
}
const fn opt_text(name: &'static str) -> Column {
    col(name, ColumnType::Text, true)
}
const fn sealed(name: &'static str, nullable: bool) -> Column {
    col(name, ColumnType::Sealed, nullable)
}
const fn refs(mut c: Column, table: &'static str, column: &'static str) -> Column {
    c.references = Some((table, column));
    c
}
const fn one_of(mut c: Column, values: &'static [&'static str]) -> Column {
    c.allowed = Some(values);
    c
}
const fn derived(mut c: Column) -> Column {
    c.derived = true;
    c
}
const fn member(name: &'static str) -> Column {
    refs(int(name), "members", "member_id")
}

/// One table.
#[derive(Clone, Copy, Debug)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [Column],
    /// The primary key columns.
    pub key: &'static [&'static str],
    /// The column naming the member whose data a row is (the shard key), if any.
    pub member_column: Option<&'static str>,
    /// Whether the key is an integer the database can assign.
    pub identity: bool,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
    pub fn column_names(&self) -> Vec<&'static str> {
        self.columns.iter().map(|c| c.name).collect()
    }
    pub fn has_sealed(&self) -> bool {
        self.columns.iter().any(|c| c.ty == ColumnType::Sealed)
    }
}

pub const VISIBILITY_PROFILE: &[&str] = &["public", "connections", "private"];
pub const VISIBILITY_POST: &[&str] = &["public", "connections", "group_open", "group_closed"];
pub const ENGAGEMENT_KINDS: &[&str] = &["view", "like", "comment", "share", "click", "apply"];
pub const ENGAGEMENT_TARGETS: &[&str] = &["post", "job", "member", "company"];
pub const APPLICATION_STATUS: &[&str] = &[
    "submitted",
    "viewed",
    "rejected",
    "interview",
    "offer",
    "withdrawn",
];
pub const STAFF_ROLES: &[&str] = &["reviewer", "approver", "engineer", "auditor", "admin"];

/// Every table of the store, parents before children (the order import and seeding use).
pub static TABLES: &[Table] = &[
    Table {
        name: "members",
        columns: &[
            int("member_id"),
            text("first_name"),
            text("last_name"),
            text("email"),
            opt_text("phone"),
            opt_text("headline"),
            opt_text("summary"),
            opt_text("city"),
            opt_text("region"),
            text("country"),
            opt_text("industry"),
            opt_text("job_function"),
            opt_text("seniority"),
            opt_text("company_size"),
            opt_int("years_experience"),
            text("jurisdiction"),
            opt_text("gender"),
            opt_int("birth_year"),
            int("created_at"),
            opt_int("deleted_at"),
        ],
        key: &["member_id"],
        member_column: Some("member_id"),
        identity: true,
    },
    Table {
        name: "profile_visibility",
        columns: &[
            member("member_id"),
            text("section"),
            one_of(text("visibility"), VISIBILITY_PROFILE),
        ],
        key: &["member_id", "section"],
        member_column: Some("member_id"),
        identity: false,
    },
    Table {
        name: "companies",
        columns: &[
            int("company_id"),
            text("name"),
            opt_text("industry"),
            opt_text("size_band"),
            opt_text("website"),
            opt_text("description"),
            int("created_at"),
        ],
        key: &["company_id"],
        member_column: None,
        identity: true,
    },
    Table {
        name: "positions",
        columns: &[
            int("position_id"),
            member("member_id"),
            refs(opt_int("company_id"), "companies", "company_id"),
            text("company_name"),
            text("title"),
            int("start_year"),
            opt_int("end_year"),
            opt_text("description"),
        ],
        key: &["position_id"],
        member_column: Some("member_id"),
        identity: true,
    },
    Table {
        name: "education",
        columns: &[
            int("education_id"),
            member("member_id"),
            text("school"),
            opt_text("degree"),
            opt_text("field"),
            opt_int("start_year"),
            opt_int("end_year"),
        ],
        key: &["education_id"],
        member_column: Some("member_id"),
        identity: true,
    },
    Table {
        name: "skills",
        columns: &[member("member_id"), text("skill"), int("endorsements")],
        key: &["member_id", "skill"],
        member_column: Some("member_id"),
        identity: false,
    },
    Table {
        name: "connections",
        columns: &[
            member("member_id"),
            member("other_member_id"),
            int("created_at"),
        ],
        key: &["member_id", "other_member_id"],
        member_column: Some("member_id"),
        identity: false,
    },
    Table {
        name: "jobs",
        columns: &[
            int("job_id"),
            refs(int("company_id"), "companies", "company_id"),
            text("title"),
            opt_text("job_function"),
            opt_text("seniority"),
            opt_text("region"),
            opt_text("country"),
            opt_text("description"),
            int("posted_at"),
        ],
        key: &["job_id"],
        member_column: None,
        identity: true,
    },
    Table {
        name: "applications",
        columns: &[
            int("application_id"),
            member("member_id"),
            refs(int("job_id"), "jobs", "job_id"),
            int("applied_at"),
            one_of(text("status"), APPLICATION_STATUS),
        ],
        key: &["application_id"],
        member_column: Some("member_id"),
        identity: true,
    },
    Table {
        name: "network_groups",
        columns: &[
            int("group_id"),
            text("name"),
            one_of(text("kind"), &["open", "closed"]),
            refs(opt_int("member_id"), "members", "member_id"),
            opt_text("description"),
            int("created_at"),
        ],
        key: &["group_id"],
        member_column: Some("member_id"),
        identity: true,
    },
    Table {
        name: "group_memberships",
        columns: &[
            refs(int("group_id"), "network_groups", "group_id"),
            member("member_id"),
            one_of(text("role"), &["owner", "moderator", "member"]),
            int("joined_at"),
        ],
        key: &["group_id", "member_id"],
        member_column: Some("member_id"),
        identity: false,
    },
    Table {
        name: "posts",
        columns: &[
            int("post_id"),
            member("member_id"),
            refs(opt_int("group_id"), "network_groups", "group_id"),
            one_of(text("visibility"), VISIBILITY_POST),
            opt_text("body"),
            sealed("body_sealed", true),
            derived(opt_text("sealing")),
            int("created_at"),
        ],
        key: &["post_id"],
        member_column: Some("member_id"),
        identity: true,
    },
    Table {
        name: "engagement_events",
        columns: &[
            int("event_id"),
            member("member_id"),
            one_of(text("kind"), ENGAGEMENT_KINDS),
            one_of(text("target_kind"), ENGAGEMENT_TARGETS),
            int("target_id"),
            int("at"),
        ],
        key: &["event_id"],
        member_column: Some("member_id"),
        identity: true,
    },
    Table {
        name: "search_events",
        columns: &[
            int("event_id"),
            member("member_id"),
            text("query"),
            int("at"),
        ],
        key: &["event_id"],
        member_column: Some("member_id"),
        identity: true,
    },
    Table {
        name: "conversations",
        columns: &[
            int("conversation_id"),
            member("member_id"),
            int("created_at"),
        ],
        key: &["conversation_id"],
        member_column: Some("member_id"),
        identity: true,
    },
    Table {
        name: "conversation_participants",
        columns: &[
            refs(int("conversation_id"), "conversations", "conversation_id"),
            member("member_id"),
            int("joined_at"),
        ],
        key: &["conversation_id", "member_id"],
        member_column: Some("member_id"),
        identity: false,
    },
    Table {
        name: "messages",
        columns: &[
            int("message_id"),
            refs(int("conversation_id"), "conversations", "conversation_id"),
            member("member_id"),
            int("sent_at"),
            sealed("content_sealed", false),
            derived(text("sealing")),
            opt_text("verdict"),
            opt_text("verdict_rule"),
        ],
        key: &["message_id"],
        member_column: Some("member_id"),
        identity: true,
    },
    Table {
        name: "attachments",
        columns: &[
            int("attachment_id"),
            refs(int("message_id"), "messages", "message_id"),
            member("member_id"),
            text("media_type"),
            int("size_bytes"),
            sealed("content_sealed", false),
            derived(text("sealing")),
            opt_text("verdict"),
            opt_text("verdict_rule"),
        ],
        key: &["attachment_id"],
        member_column: Some("member_id"),
        identity: true,
    },
    Table {
        name: "private_notes",
        columns: &[
            int("note_id"),
            member("member_id"),
            refs(opt_int("about_member_id"), "members", "member_id"),
            int("created_at"),
            sealed("content_sealed", false),
            derived(text("sealing")),
        ],
        key: &["note_id"],
        member_column: Some("member_id"),
        identity: true,
    },
    Table {
        name: "reports",
        columns: &[
            int("report_id"),
            member("member_id"),
            one_of(text("target_kind"), &["message", "post", "member"]),
            int("target_id"),
            text("reason"),
            int("created_at"),
            one_of(text("status"), &["open", "in_review", "closed"]),
        ],
        key: &["report_id"],
        member_column: Some("member_id"),
        identity: true,
    },
    Table {
        name: "cases",
        columns: &[
            int("case_id"),
            refs(int("report_id"), "reports", "report_id"),
            member("member_id"),
            one_of(text("status"), &["open", "in_review", "decided"]),
            opt_text("decision"),
            int("opened_at"),
            opt_int("closed_at"),
        ],
        key: &["case_id"],
        member_column: Some("member_id"),
        identity: true,
    },
    Table {
        name: "consent_events",
        columns: &[
            int("event_id"),
            member("member_id"),
            text("key"),
            text("value"),
            int("at"),
            text("actor"),
        ],
        key: &["event_id"],
        member_column: Some("member_id"),
        identity: true,
    },
    Table {
        name: "profile_events",
        columns: &[
            int("event_id"),
            member("member_id"),
            text("field"),
            opt_text("old_value"),
            opt_text("new_value"),
            int("at"),
            text("actor"),
        ],
        key: &["event_id"],
        member_column: Some("member_id"),
        identity: true,
    },
    Table {
        name: "datasets",
        columns: &[
            text("dataset_id"),
            text("name"),
            text("purpose"),
            text("policy_version"),
            int("created_at"),
            int("member_count"),
            one_of(
                text("status"),
                &["building", "published", "stale", "withdrawn"],
            ),
            opt_int("stale_since"),
        ],
        key: &["dataset_id"],
        member_column: None,
        identity: false,
    },
    Table {
        name: "dataset_members",
        columns: &[
            refs(text("dataset_id"), "datasets", "dataset_id"),
            int("member_id"),
        ],
        key: &["dataset_id", "member_id"],
        member_column: Some("member_id"),
        identity: false,
    },
    Table {
        name: "staff",
        columns: &[int("staff_id"), text("name"), int("created_at")],
        key: &["staff_id"],
        member_column: None,
        identity: true,
    },
    Table {
        name: "staff_roles",
        columns: &[
            refs(int("staff_id"), "staff", "staff_id"),
            one_of(text("role"), STAFF_ROLES),
        ],
        key: &["staff_id", "role"],
        member_column: None,
        identity: false,
    },
];

/// The descriptor of `name`.
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

/// A profile section whose visibility each member chooses, the category it carries and its
/// visibility when the member never chose one.
#[derive(Clone, Copy, Debug)]
pub struct Section {
    pub name: &'static str,
    pub category: &'static str,
    pub default: steward_core::Visibility,
}

const fn section(
    name: &'static str,
    category: &'static str,
    default: steward_core::Visibility,
) -> Section {
    Section {
        name,
        category,
        default,
    }
}

/// Profile sections with per-member visibility.
pub const SECTIONS: &[Section] = {
    use steward_core::Visibility::{Connections, Private, Public};
    &[
        section("name", "member.identity.name", Public),
        section("email", "member.identity.contact.email", Private),
        section("phone", "member.identity.contact.phone", Private),
        section("headline", "member.profile.headline", Public),
        section("summary", "member.profile.summary", Public),
        section("location", "member.profile.location", Public),
        section("industry", "member.profile.industry", Public),
        section("job_function", "member.profile.job_function", Public),
        section("seniority", "member.profile.seniority", Public),
        section("company_size", "member.profile.company_size", Public),
        section(
            "years_experience",
            "member.profile.years_experience",
            Public,
        ),
        section("experience", "member.profile.experience", Public),
        section("education", "member.profile.education", Public),
        section("skills", "member.profile.skills", Public),
        section("connections", "member.connections", Connections),
        section("gender", "member.demographic.gender", Private),
        section("birth_year", "member.demographic.age", Private),
    ]
};

/// The section called `name`.
pub fn section_named(name: &str) -> Option<&'static Section> {
    SECTIONS.iter().find(|s| s.name == name)
}
