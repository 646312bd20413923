//! CPU time consumed so far, from /proc (Linux): what the demo and the simulator report per request.

use std::time::Duration;

/// CPU time of the calling thread (`/proc/thread-self/schedstat`, nanoseconds).
pub fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// User + system CPU time of the whole process (`/proc/self/stat`, in clock ticks of 1/100 s).
pub fn process_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

#[cfg(test)]
mod tests {
    #[test]
    fn readable_on_linux() {
        let a = super::thread_cpu().unwrap();
        // Spin until the thread's clock moves (black_box: a release build would fold the loop away).
        let mut x = 0u64;
        let mut i = 0u64;
        while super::thread_cpu().unwrap() == a {
            for _ in 0..100_000 {
                i += 1;
                x = std::hint::black_box(x.wrapping_add(i * i));
            }
            assert!(i < 100_000_000_000, "the thread's CPU clock never moved");
        }
        assert!(x > 0);
        assert!(super::thread_cpu().unwrap() > a);
        assert!(super::process_cpu().is_some());
    }
}
