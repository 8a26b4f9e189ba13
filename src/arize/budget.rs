//! The client-side request budget: one rate cap shared by every request the
//! exporter sends, retries and every endpoint included, so that the exporter
//! is a good API citizen whatever it fetches.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// At most `rate` requests per second, in bursts of at most `ceil(rate)`.
pub struct RequestBudget {
    limiter: DefaultDirectRateLimiter,
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
        }
    }

    /// Waits until one more request fits in the budget.
    pub async fn acquire(&self) {
        self.limiter.until_ready().await;
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

    #[tokio::test]
    async fn a_fractional_rate_allows_one_request_at_a_time() {
        let budget = RequestBudget::new(0.5);
        assert!(budget.limiter.check().is_ok());
        assert!(budget.limiter.check().is_err());
    }
}
