//! robots.txt as RFC 9309 defines it: groups per user agent, Allow/Disallow
//! rules where the longest match wins (Allow on a tie), `*` and `$` in
//! patterns, plus the common Crawl-delay extension.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
struct Rule {
    allow: bool,
    pattern: Vec<u8>,
}

/// The rules of a site that apply to one crawler.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    rules: Vec<Rule>,
    /// The site's Crawl-delay for this crawler, if it gave one.
    pub crawl_delay: Option<Duration>,
}

/// Longer Crawl-delays are read as this (a day): the value is the site's
/// wish, honoured, but must stay a sane number.
const MAX_CRAWL_DELAY: f64 = 86_400.0;

impl Rules {
    /// No robots.txt (404 and other 4xx): everything is allowed.
    pub fn allow_all() -> Rules {
        Rules { rules: Vec::new(), crawl_delay: None }
    }

    /// robots.txt unreachable (5xx, network error): RFC 9309 says assume
    /// complete disallow until it can be read.
    pub fn disallow_all() -> Rules {
        Rules { rules: vec![Rule { allow: false, pattern: b"/".to_vec() }], crawl_delay: None }
    }

    /// The rules for the crawler whose product token is `agent` (`zatan`):
    /// the groups naming it, combined, or else the `*` groups.
    pub fn parse(text: &str, agent: &str) -> Rules {
        let agent = agent.to_ascii_lowercase();
        // (agents, rules, crawl delay) per group
        let mut groups: Vec<(Vec<String>, Vec<Rule>, Option<f64>)> = Vec::new();
        let mut in_agents = false;
        for line in text.trim_start_matches('\u{feff}').lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            let Some((key, value)) = line.split_once(':') else { continue };
            let (key, value) = (key.trim().to_ascii_lowercase(), value.trim());
            match key.as_str() {
                "user-agent" => {
                    if !in_agents {
                        groups.push((Vec::new(), Vec::new(), None));
                        in_agents = true;
                    }
                    if let Some(group) = groups.last_mut() {
                        group.0.push(value.to_ascii_lowercase());
                    }
                }
                "allow" | "disallow" => {
                    in_agents = false;
                    // An empty Disallow allows everything: no rule at all.
                    if let (Some(group), false) = (groups.last_mut(), value.is_empty()) {
                        group.1.push(Rule { allow: key == "allow", pattern: normalize(value) });
                    }
                }
                "crawl-delay" => {
                    in_agents = false;
                    if let (Some(group), Ok(seconds)) = (groups.last_mut(), value.parse::<f64>()) {
                        if seconds.is_finite() && seconds >= 0.0 {
                            group.2 = Some(seconds.min(MAX_CRAWL_DELAY));
                        }
                    }
                }
                // Sitemap and unknown lines neither belong to nor end a group.
                _ => {}
            }
        }
        let named: Vec<_> = groups.iter().filter(|g| g.0.contains(&agent)).collect();
        let chosen = if named.is_empty() {
            groups.iter().filter(|g| g.0.iter().any(|a| a == "*")).collect()
        } else {
            named
        };
        let crawl_delay =
            chosen.iter().filter_map(|g| g.2).reduce(f64::max).map(Duration::from_secs_f64);
        Rules { rules: chosen.into_iter().flat_map(|g| g.1.iter().cloned()).collect(), crawl_delay }
    }

    /// Whether `path_and_query` (as sent, percent-encoded) may be fetched.
    pub fn allows(&self, path_and_query: &str) -> bool {
        if path_and_query == "/robots.txt" {
            return true;
        }
        let path = normalize(path_and_query);
        let mut best: Option<(usize, bool)> = None;
        for rule in &self.rules {
            if matches(&rule.pattern, &path) {
                let better = match best {
                    None => true,
                    Some((len, allow)) => {
                        rule.pattern.len() > len
                            || (rule.pattern.len() == len && rule.allow && !allow)
                    }
                };
                if better {
                    best = Some((rule.pattern.len(), rule.allow));
                }
            }
        }
        best.is_none_or(|(_, allow)| allow)
    }
}

/// Patterns and paths compared in one form: non-ASCII bytes
/// percent-encoded, escapes with upper-case hex digits.
fn normalize(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%'
            && i + 2 < bytes.len()
            && bytes[i + 1].is_ascii_hexdigit()
            && bytes[i + 2].is_ascii_hexdigit()
        {
            out.extend_from_slice(&[
                b'%',
                bytes[i + 1].to_ascii_uppercase(),
                bytes[i + 2].to_ascii_uppercase(),
            ]);
            i += 3;
            continue;
        }
        if b.is_ascii() {
            out.push(b);
        } else {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
        i += 1;
    }
    out
}

/// Whether `pattern` matches a prefix of `path` (`*`: any run of bytes;
/// a final `$`: the path ends there).
fn matches(pattern: &[u8], path: &[u8]) -> bool {
    let (pattern, anchored) = match pattern.strip_suffix(b"$") {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    // positions in `path` the pattern so far can end at, ascending
    let mut ends: Vec<usize> = vec![0];
    for &p in pattern {
        if ends.is_empty() {
            return false;
        }
        if p == b'*' {
            let from = ends[0];
            ends = (from..=path.len()).collect();
        } else {
            ends = ends
                .into_iter()
                .filter(|&e| e < path.len() && path[e] == p)
                .map(|e| e + 1)
                .collect();
        }
    }
    if anchored {
        ends.contains(&path.len())
    } else {
        !ends.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SITE: &str = "\u{feff}# example
User-agent: *
Disallow: /private/
Disallow: /*.pdf$
Allow: /private/open/
Crawl-delay: 1

User-agent: BadBot
User-Agent: zatan
Disallow: /opds/secret
Allow: /opds/secret/public
crawl-delay: 5.5

Sitemap: http://x/sitemap.xml

user-agent: zatan
disallow: /tmp

User-agent: other
Disallow: /
";

    #[test]
    fn our_groups_are_combined_and_the_star_group_ignored() {
        let rules = Rules::parse(SITE, "zatan");
        assert!(!rules.allows("/opds/secret/x"));
        assert!(rules.allows("/opds/secret/public/1"), "longer allow wins");
        assert!(!rules.allows("/tmp/file"), "second zatan group combined");
        assert!(rules.allows("/private/x"), "the * group does not apply to us");
        assert!(rules.allows("/"));
        assert_eq!(rules.crawl_delay, Some(Duration::from_millis(5500)));
        assert!(Rules::parse(SITE, "ZATAN").allows("/private/x"), "agent names ignore case");
    }

    #[test]
    fn star_group_when_none_names_us() {
        let rules = Rules::parse(SITE, "someone");
        assert!(!rules.allows("/private/x"));
        assert!(rules.allows("/private/open/y"));
        assert!(!rules.allows("/books/a.pdf"));
        assert!(rules.allows("/books/a.pdf?download=1"), "$ anchors at the end");
        assert!(rules.allows("/opds/secret"));
        assert_eq!(rules.crawl_delay, Some(Duration::from_secs(1)));
    }

    #[test]
    fn longest_match_and_ties() {
        let rules = Rules::parse(
            "User-agent: *\nDisallow: /a\nAllow: /a\nDisallow: /b*c\nAllow: /b\n",
            "zatan",
        );
        assert!(rules.allows("/a/x"), "equal length: allow wins");
        assert!(!rules.allows("/bxxc"), "/b*c is longer than /b");
        assert!(rules.allows("/bxx"));
        let calibre = Rules::parse("User-agent: *\nDisallow: /", "zatan");
        assert!(!calibre.allows("/opds"));
        assert!(calibre.allows("/robots.txt"), "robots.txt itself is always allowed");
        let empty = Rules::parse("User-agent: *\nDisallow:\n", "zatan");
        assert!(empty.allows("/anything"));
        assert!(Rules::parse("", "zatan").allows("/x"));
        assert!(Rules::parse("garbage\n\0\0binary", "zatan").allows("/x"));
    }

    #[test]
    fn patterns_and_encoding() {
        assert!(matches(b"/*/x$", b"/a/b/x"));
        assert!(!matches(b"/*/x$", b"/a/b/xy"));
        assert!(matches(b"*", b""));
        assert!(matches(b"/a**b", b"/a-b"));
        assert!(!matches(b"/ab", b"/a"));
        let rules = Rules::parse("User-agent: *\nDisallow: /书\nDisallow: /a%2fb\n", "zatan");
        assert!(!rules.allows("/%E4%B9%A6/1"), "non-ASCII rules match their encoded form");
        assert!(!rules.allows("/a%2Fb"));
        assert!(!Rules::disallow_all().allows("/x"));
        assert!(Rules::allow_all().allows("/x"));
    }

    #[test]
    fn rules_before_any_user_agent_are_ignored_and_bad_delays_dropped() {
        let rules =
            Rules::parse("Disallow: /\nUser-agent: *\nCrawl-delay: soon\nDisallow: /x\n", "zatan");
        assert!(rules.allows("/y"));
        assert!(!rules.allows("/x"));
        assert_eq!(rules.crawl_delay, None);
        let rules = Rules::parse("User-agent: *\nCrawl-delay: 1e12\n", "zatan");
        assert_eq!(rules.crawl_delay, Some(Duration::from_secs(86_400)));
    }
}
