//! The client-side request budget: one rate cap shared by every request the
//! exporter sends, retries and every endpoint included, so that the exporter
//! is a good API citizen whatever it fetches. It also keeps the API's own
//! `Retry-After`: no request goes out before the time the API asked for,
//! even in a later poll.

use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// At most `rate` requests per second, in bursts of at most `ceil(rate)`.
pub struct RequestBudget {
    limiter: DefaultDirectRateLimiter,
    /// No request before this instant: the API said so with `Retry-After`.
    held_until: Mutex<Option<Instant>>,
}

impl RequestBudget {
    pub fn new(requests_per_second: f64) -> RequestBudget {
        // The configuration guarantees a positive, finite rate; clamp anyway
        // so that no value can make the quota invalid.
        let rate = requests_per_second.clamp(1e-6, 1e9);
        let period = Duration::from_secs_f64(1.0 / rate).max(Duration::from_nanos(1));
        let burst =
            NonZeroU32::new(rate.ceil().min(f64::from(u32::MAX)) as u32).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        RequestBudget {
            limiter: RateLimiter::direct(quota),
            held_until: Mutex::new(None),
        }
    }

    /// Waits until one more request fits in the budget.
    pub async fn acquire(&self) {
        self.limiter.until_ready().await;
    }

    /// The API asked for no request during `wait` from now (the caller
    /// caps it; one beyond the clock's range is ignored, never a panic).
    pub fn hold_for(&self, wait: Duration) {
        let Some(until) = Instant::now().checked_add(wait) else {
            return;
        };
        let mut held = self
            .held_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *held = Some(held.map_or(until, |h| h.max(until)));
    }

    /// How long the API still asks to be left alone, if at all.
    pub fn held_for(&self) -> Option<Duration> {
        let held = *self
            .held_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        held.and_then(|until| until.checked_duration_since(Instant::now()))
            .filter(|left| !left.is_zero())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_burst_is_the_rate_rounded_up_and_then_requests_wait() {
        let budget = RequestBudget::new(2.5);
        // Three requests fit at once (2.5 rounded up) ...
        for _ in 0..3 {
            assert!(budget.limiter.check().is_ok());
        }
        // ... and the fourth has to wait for the budget to refill.
        assert!(budget.limiter.check().is_err());
    }

    #[test]
    fn a_hold_lasts_its_time_and_only_grows() {
        let budget = RequestBudget::new(1.0);
        assert_eq!(budget.held_for(), None);
        budget.hold_for(Duration::from_secs(300));
        budget.hold_for(Duration::from_secs(1));
        let left = budget.held_for().unwrap();
        assert!(left > Duration::from_secs(290), "{left:?}");
    }

    #[tokio::test]
    async fn a_fractional_rate_allows_one_request_at_a_time() {
        let budget = RequestBudget::new(0.5);
        assert!(budget.limiter.check().is_ok());
        assert!(budget.limiter.check().is_err());
    }
}
