//! `s3meta plan`: runs the [`Planner`]'s probes against the store, a batch at a time, and returns the
//! plan it makes.

use std::sync::Arc;

use tokio::task::JoinSet;

use super::error::{Error, ListingError};
use super::limit::LimitSettings;
use super::pacing::Pacing;
use super::park_delay::ParkDelay;
use super::retry::SmallRng;
use super::scan::{connector, hide_secrets, s3_client, ScanConfig};
use crate::core::plan::Plan;
use crate::core::planner::{PlanError, Planner, PROBES_AT_ONCE};
use crate::core::request::ListParams;

/// Plans `shards` shards of the listing `config` describes (its bucket, prefix and start-after).
pub fn run_plan(config: &ScanConfig, shards: usize) -> Result<Plan, Error> {
    hide_secrets(config);
    let park_delay = ParkDelay::new();
    let runtime = park_delay.runtime().map_err(|source| Error::Setup {
        what: "cannot start the runtime".into(),
        source,
    })?;
    let connector = Arc::new(connector(config)?);
    let pacing = Arc::new(Pacing::new(
        LimitSettings {
            ceiling: PROBES_AT_ONCE,
            max_rate: config.max_rps,
            adaptive: config.adaptive,
        },
        PROBES_AT_ONCE,
        config.retry,
    ));
    let mut planner = Planner::new(
        shards,
        config.prefix.clone(),
        config.listing_start(),
        config.max_keys,
    );
    runtime.block_on(async {
        let client = Arc::new(s3_client(
            config,
            PROBES_AT_ONCE,
            &park_delay,
            &connector,
            &pacing,
        ));
        let seed = SmallRng::from_clock().next_u64();
        let mut sent = 0u64;
        loop {
            let probes = planner.next_probes();
            if probes.is_empty() {
                break;
            }
            let mut batch = JoinSet::new();
            for (i, after) in probes.into_iter().enumerate() {
                let client = client.clone();
                let prefix = config.prefix.clone();
                let max_keys = config.max_keys;
                let mut rng = SmallRng::nth(seed, sent);
                sent += 1;
                batch.spawn(async move {
                    let params = ListParams {
                        prefix: &prefix,
                        continuation_token: None,
                        start_after: after.as_deref(),
                        max_keys,
                    };
                    let page = client.list_page(&params, &mut rng).await;
                    (i, after, page)
                });
            }
            let mut pages = Vec::new();
            while let Some(done) = batch.join_next().await {
                pages.push(done.map_err(|e| Error::Setup {
                    what: "a probe's task".into(),
                    source: std::io::Error::other(e.to_string()),
                })?);
            }
            // In the order asked, so that the same bucket gives the same plan.
            pages.sort_by_key(|(i, _, _)| *i);
            for (_, after, page) in pages {
                planner.learn(after, page?).map_err(|e| match e {
                    PlanError::Unordered => Error::Listing(ListingError::UnorderedForPlan),
                })?;
            }
        }
        Ok(planner.plan(&config.target.bucket))
    })
}
