//! The OpenAPI document, generated from the handlers' annotations so it cannot drift from
//! the routes.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{ads, ledger, members, policy, rights, safety, system};

#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Steward API", description = "The member-data layer of a professional network: policy, members' own data and rights, the ledger with its proofs, and (as they land) reviews, datasets and ads."),
    paths(
        system::healthz,
        system::metrics,
        system::openapi,
        system::whoami,
        policy::matrix,
        policy::explain,
        policy::diff,
        policy::source,
        members::profile,
        members::settings,
        members::change_setting,
        members::data_use,
        ledger::access_history,
        rights::export,
        rights::erase,
        ledger::checkpoints,
        ledger::latest_checkpoint,
        ledger::inclusion_proof,
        ledger::consistency,
        ledger::verify_ledger,
        safety::conversations,
        safety::start,
        safety::conversation,
        safety::send,
        safety::report,
        safety::cases,
        safety::case,
        safety::request_grant,
        safety::approve,
        safety::open,
        safety::decide,
        ads::attributes,
        ads::estimate,
        ads::audiences,
        ads::create_audience,
        ads::audience,
        ads::edit_audience,
        ads::create_matched,
        ads::campaigns,
        ads::create_campaign,
        ads::campaign,
        ads::attach,
        ads::launch,
        ads::pause,
        ads::resume,
        ads::campaign_report,
        ads::skills,
        ads::eligibility,
        ads::member_ads,
        safety::attachment,
        rights::datasets,
        system::revoke_token,
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

#[derive(Debug)]
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
