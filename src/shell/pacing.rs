//! How fast a scan's requests go: the adaptive limit of each kind of request, the retry policy and
//! the retry budget they share. One per scan; the client sends through it, the scheduler reads the
//! HEAD limit, the progress line and the summary read its counts.

use super::error::Operation;
use super::limit::{AdaptiveLimit, LimitSettings, LimitSnapshot};
use super::retry::{RetryBudget, RetryPolicy, Retrying};

#[derive(Debug)]
pub(crate) struct Pacing {
    heads: AdaptiveLimit,
    lists: AdaptiveLimit,
    budget: RetryBudget,
    policy: RetryPolicy,
}

/// What the pacing is now.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PacingSnapshot {
    pub heads: LimitSnapshot,
    pub lists: LimitSnapshot,
    pub retries: u64,
    /// Retries waiting now (their backoff, or tokens of the budget).
    pub waiting: usize,
}

impl Pacing {
    /// `heads`: the HEAD limit's settings; LISTs go `listers` at a time at most, paced by the same
    /// rule and cap.
    pub(crate) fn new(heads: LimitSettings, listers: usize, policy: RetryPolicy) -> Pacing {
        Pacing {
            heads: AdaptiveLimit::new(heads),
            lists: AdaptiveLimit::new(LimitSettings {
                ceiling: listers.max(1),
                ..heads
            }),
            budget: RetryBudget::default(),
            policy,
        }
    }

    pub(crate) fn limit(&self, op: Operation) -> &AdaptiveLimit {
        match op {
            Operation::Head => &self.heads,
            Operation::List => &self.lists,
        }
    }

    pub(crate) fn retrying(&self, op: Operation) -> Retrying<'_> {
        Retrying {
            policy: &self.policy,
            budget: &self.budget,
            limit: self.limit(op),
        }
    }

    /// HEADs allowed in flight now.
    pub(crate) fn head_limit(&self) -> usize {
        self.heads.in_flight_limit()
    }

    /// LISTs allowed in flight now.
    pub(crate) fn list_limit(&self) -> usize {
        self.lists.in_flight_limit()
    }

    pub(crate) fn snapshot(&self) -> PacingSnapshot {
        PacingSnapshot {
            heads: self.heads.snapshot(),
            lists: self.lists.snapshot(),
            retries: self.budget.retries(),
            waiting: self.budget.waiting(),
        }
    }
}
