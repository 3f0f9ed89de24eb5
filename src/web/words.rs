//! Times and schedules in words: "in 12 min", "3 h ago", "every hour".

/// `at` relative to `now`: "just now", "in 12 min", "3 h ago", "in 2 days".
pub fn relative(at: i64, now: i64) -> String {
    let diff = at - now;
    let secs = diff.abs();
    if secs < 60 {
        return if diff >= 0 {
            "now".into()
        } else {
            "just now".into()
        };
    }
    let amount = match secs {
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => format!("{} h", s / 3600),
        s => {
            let days = s / 86_400;
            format!("{days} day{}", if days == 1 { "" } else { "s" })
        }
    };
    if diff > 0 {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

/// An interval in words: "every 15 minutes", "every hour", "every 6 hours", "every day".
pub fn every(secs: i64) -> String {
    let minutes = (secs / 60).max(1);
    match minutes {
        1 => "every minute".into(),
        m if m % 1440 == 0 && m / 1440 == 1 => "every day".into(),
        m if m % 1440 == 0 => format!("every {} days", m / 1440),
        60 => "every hour".into(),
        m if m % 60 == 0 => format!("every {} hours", m / 60),
        m => format!("every {m} minutes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_intervals_read_as_words() {
        assert_eq!(relative(1000 + 720, 1000), "in 12 min");
        assert_eq!(relative(1000 - 3 * 3600, 1000), "3 h ago");
        assert_eq!(relative(1000, 1010), "just now");
        assert_eq!(every(3600), "every hour");
        assert_eq!(every(900), "every 15 minutes");
        assert_eq!(every(6 * 3600), "every 6 hours");
        assert_eq!(every(86_400), "every day");
    }
}
