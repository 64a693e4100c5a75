//! The register's link to the bridge on the store's LAN: what the browser's
//! Local Network Access asks of a request, and why the bridge is not there.
//!
//! Since Chrome 142 a page may reach a more private address (a public page
//! to the LAN, any page but a loopback one to loopback) only once the user
//! grants the "local network access" permission. The permission can only be
//! asked from a secure page, and the register asks it only from a tap (Pair
//! with payment bridge), never from a background check: while it has not
//! been granted, the health check does not call the bridge at all and says
//! "permission needed". A request from an HTTPS page to a private address
//! also names the target's address space (`targetAddressSpace`), which lets
//! the browser let an `http://` bridge through once permitted.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Where an address is, as the browser sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Space {
    Loopback,
    /// A private network: RFC 1918, link-local, unique-local IPv6, `.local`.
    Local,
    Public,
    /// A DNS name: the browser learns where it is when it resolves it.
    Unknown,
}

impl Space {
    /// The `targetAddressSpace` value for this space.
    pub fn fetch_value(self) -> Option<&'static str> {
        match self {
            Space::Loopback => Some("loopback"),
            Space::Local => Some("local"),
            Space::Public | Space::Unknown => None,
        }
    }

    fn privacy(self) -> u8 {
        match self {
            Space::Public | Space::Unknown => 0,
            Space::Local => 1,
            Space::Loopback => 2,
        }
    }
}

/// The host of a URL (`https://[::1]:7878/x` → `::1`), lowercased.
pub fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split_once(']')?.0
    } else {
        authority.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// The address space of a host.
pub fn space_of_host(host: &str) -> Space {
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => space_of_v4(ip),
        Ok(IpAddr::V6(ip)) => space_of_v6(ip),
        Err(_) if host == "localhost" || host.ends_with(".localhost") => Space::Loopback,
        Err(_) if host.ends_with(".local") => Space::Local,
        Err(_) => Space::Unknown,
    }
}

fn space_of_v4(ip: Ipv4Addr) -> Space {
    if ip.is_loopback() {
        Space::Loopback
    } else if ip.is_private() || ip.is_link_local() || ip.is_unspecified() {
        Space::Local
    } else {
        Space::Public
    }
}

fn space_of_v6(ip: Ipv6Addr) -> Space {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return space_of_v4(v4);
    }
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Space::Loopback
    } else if (first & 0xe000) == 0x2000 || (first & 0xff00) == 0xff00 {
        // 2000::/3 and ff00::/8 are public; the rest is local.
        Space::Public
    } else {
        Space::Local
    }
}

/// The space a request from `page` to `target` enters when it is a local
/// network request (to a more private space than the page's); `None` when
/// it is not one, or the target is a DNS name the browser will judge.
pub fn local_network_request(page: &str, target: &str) -> Option<Space> {
    let from = host_of(page).map_or(Space::Unknown, |h| space_of_host(&h));
    let to = space_of_host(&host_of(target)?);
    (to.fetch_value().is_some() && to.privacy() > from.privacy()).then_some(to)
}

/// The `targetAddressSpace` a request from a secure page to the bridge
/// names, if any.
pub fn target_address_space(page: &str, target: &str) -> Option<&'static str> {
    if !page.starts_with("https://") {
        return None;
    }
    local_network_request(page, target).and_then(Space::fetch_value)
}

/// The browser's Local Network Access permission, as `permissions.query`
/// says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    Granted,
    /// Not asked yet: asking shows the browser's prompt.
    Prompt,
    Denied,
    /// This browser has no such permission (it lets the request through
    /// or blocks it by its own rules).
    Unsupported,
}

impl Permission {
    /// The state `permissions.query` answered.
    pub fn from_state(state: &str) -> Permission {
        match state {
            "granted" => Permission::Granted,
            "prompt" => Permission::Prompt,
            "denied" => Permission::Denied,
            _ => Permission::Unsupported,
        }
    }
}

/// Why the bridge is or is not there, as the status bar says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BridgeLink {
    Unknown,
    Connected,
    /// No bridge address or token in Settings.
    NotPaired,
    /// The bridge revoked this register's token.
    Unpaired,
    /// The bridge refuses the token (wrong, or from another bridge).
    TokenRefused,
    /// The browser needs the Local Network Access permission, not asked yet.
    PermissionNeeded,
    PermissionDenied,
    /// No answer. From an HTTPS page this may be a certificate the tablet
    /// does not trust: a page cannot tell that from a bridge that is off.
    NoAnswer {
        https: bool,
    },
}

impl BridgeLink {
    pub fn is_connected(&self) -> bool {
        *self == BridgeLink::Connected
    }

    /// The status bar's words.
    pub fn label(&self) -> &'static str {
        match self {
            BridgeLink::Unknown => "Bridge: —",
            BridgeLink::Connected => "Bridge: connected",
            BridgeLink::NotPaired => "Bridge: not paired",
            BridgeLink::Unpaired => "Bridge: no longer paired",
            BridgeLink::TokenRefused => "Bridge: pairing refused",
            BridgeLink::PermissionNeeded => "Bridge: permission needed",
            BridgeLink::PermissionDenied => "Bridge: permission denied",
            BridgeLink::NoAnswer { https: false } => "Bridge: no answer",
            BridgeLink::NoAnswer { https: true } => "Bridge: no answer or certificate not trusted",
        }
    }

    /// What to do about it, for Settings.
    pub fn advice(&self) -> Option<&'static str> {
        Some(match self {
            BridgeLink::Unknown | BridgeLink::Connected => return None,
            BridgeLink::NotPaired | BridgeLink::Unpaired | BridgeLink::TokenRefused => {
                "Pair this register: type the bridge's address and the code it shows, then Pair."
            }
            BridgeLink::PermissionNeeded => {
                "The browser must allow this page to reach the store's network: tap Pair and answer Allow."
            }
            BridgeLink::PermissionDenied => {
                "The browser blocks this page from the store's network: allow \"Local network access\" in the site's settings (the icon beside the address), or have the tablet's administrator allow it by policy."
            }
            BridgeLink::NoAnswer { https: false } => {
                "Check that the bridge is on and on the same network as this tablet."
            }
            BridgeLink::NoAnswer { https: true } => {
                "Check that the bridge is on. If it is, open its address in a new tab: a certificate warning means this tablet does not trust the store's CA yet (see the README, Trust the CA)."
            }
        })
    }
}

/// Whether the background health check may call the bridge: not while the
/// permission would have to be asked (the prompt comes from a tap only) or
/// is denied. `None`: the bridge needs no permission from this page.
pub fn background_check(permission: Option<Permission>) -> Result<(), BridgeLink> {
    match permission {
        None | Some(Permission::Granted | Permission::Unsupported) => Ok(()),
        Some(Permission::Prompt) => Err(BridgeLink::PermissionNeeded),
        Some(Permission::Denied) => Err(BridgeLink::PermissionDenied),
    }
}

/// A one-time setup link's fragment (`#setup=…`): where the back office
/// and the bridge are, the back office's one-time enrolment secret (traded
/// for a register id and a token of the register's own), and the bridge's
/// pairing code. It is a fragment so that it never reaches a server's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupLink {
    pub oms_url: String,
    /// The enrolment secret: good once, for 10 minutes.
    pub secret: String,
    /// The bridge and its pairing code; without them the register is
    /// paired by hand (Settings, Pair with payment bridge).
    pub bridge: Option<LinkBridge>,
}

/// The bridge a setup link pairs with, and the code it showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkBridge {
    pub url: String,
    pub code: String,
}

/// The fragment's key.
pub const SETUP_KEY: &str = "setup=";

impl SetupLink {
    /// `setup=oms=…&enrol=…&bridge=…&code=…` (the part after `#`).
    pub fn to_fragment(&self) -> String {
        let mut pairs = vec![("oms", &self.oms_url), ("enrol", &self.secret)];
        if let Some(b) = &self.bridge {
            pairs.extend([("bridge", &b.url), ("code", &b.code)]);
        }
        let query: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        format!("{SETUP_KEY}{}", encode(&query.join("&")))
    }

    /// The link a fragment (with or without its `#`) carries; `None` when
    /// the fragment is not a setup link; an error naming what is missing.
    pub fn parse(fragment: &str) -> Option<Result<SetupLink, String>> {
        let inner = fragment.trim_start_matches('#').strip_prefix(SETUP_KEY)?;
        Some(Self::parse_query(&decode(inner)?))
    }

    fn parse_query(query: &str) -> Result<SetupLink, String> {
        let find = |key: &str| -> Option<String> {
            query
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| *k == key)
                .and_then(|(_, v)| decode(v))
                .filter(|v| !v.trim().is_empty())
        };
        let get = |key: &str| -> Result<String, String> {
            find(key).ok_or_else(|| {
                format!("The setup link is incomplete ({key} is missing): ask for a new link")
            })
        };
        let bridge = match (find("bridge"), find("code")) {
            (Some(url), Some(code)) => Some(LinkBridge { url, code }),
            (None, None) => None,
            (Some(_), None) => return Err(get("code").unwrap_err()),
            (None, Some(_)) => return Err(get("bridge").unwrap_err()),
        };
        Ok(SetupLink {
            oms_url: get("oms")?,
            secret: get("enrol")?,
            bridge,
        })
    }
}

/// Percent-encodes all but unreserved characters.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Percent-decodes; `None` for a broken escape or text that is not UTF-8.
fn decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_read_from_urls() {
        assert_eq!(
            host_of("https://192.168.1.20:7878").as_deref(),
            Some("192.168.1.20")
        );
        assert_eq!(host_of("http://[::1]:7878/v1").as_deref(), Some("::1"));
        assert_eq!(
            host_of("https://Bridge.Store.example/").as_deref(),
            Some("bridge.store.example")
        );
        assert_eq!(
            host_of("https://u:p@10.0.0.2/x").as_deref(),
            Some("10.0.0.2")
        );
        assert_eq!(host_of("no scheme"), None);
        assert_eq!(host_of("http://"), None);
    }

    #[test]
    fn address_spaces_follow_the_browsers_ranges() {
        for (host, space) in [
            ("127.0.0.1", Space::Loopback),
            ("localhost", Space::Loopback),
            ("::1", Space::Loopback),
            ("192.168.1.20", Space::Local),
            ("10.1.2.3", Space::Local),
            ("172.16.0.9", Space::Local),
            ("169.254.3.4", Space::Local),
            ("fd00::5", Space::Local),
            ("fe80::1", Space::Local),
            ("::ffff:192.168.1.2", Space::Local),
            ("bridge.local", Space::Local),
            ("8.8.8.8", Space::Public),
            ("2001:db8::1", Space::Public),
            ("172.32.0.1", Space::Public),
            ("bridge.store.example", Space::Unknown),
        ] {
            assert_eq!(space_of_host(host), space, "{host}");
        }
    }

    #[test]
    fn only_a_secure_page_reaching_somewhere_more_private_names_the_space() {
        let cloud = "https://till.store.example";
        assert_eq!(
            target_address_space(cloud, "https://192.168.1.20:7878"),
            Some("local")
        );
        assert_eq!(
            target_address_space(cloud, "http://127.0.0.1:7878"),
            Some("loopback")
        );
        // The same space, or a less private one: not a local network request.
        assert_eq!(
            target_address_space("https://192.168.1.10:8080", "https://192.168.1.20:7878"),
            None
        );
        assert_eq!(
            target_address_space("https://127.0.0.1:8080", "https://127.0.0.1:7878"),
            None
        );
        assert_eq!(
            target_address_space("https://192.168.1.10", "https://127.0.0.1:7878"),
            Some("loopback")
        );
        // A DNS name: the browser judges it after resolving.
        assert_eq!(
            target_address_space(cloud, "https://b1.bridge.store.example"),
            None
        );
        // An http:// page asks nothing (and can be given nothing).
        assert_eq!(
            target_address_space("http://till.store.example", "http://192.168.1.20:7878"),
            None
        );
    }

    #[test]
    fn the_background_check_never_asks_for_the_permission() {
        assert_eq!(
            background_check(Some(Permission::Prompt)),
            Err(BridgeLink::PermissionNeeded)
        );
        assert_eq!(
            background_check(Some(Permission::Denied)),
            Err(BridgeLink::PermissionDenied)
        );
        assert_eq!(background_check(Some(Permission::Granted)), Ok(()));
        assert_eq!(background_check(Some(Permission::Unsupported)), Ok(()));
        assert_eq!(background_check(None), Ok(()));
        assert_eq!(Permission::from_state("granted"), Permission::Granted);
        assert_eq!(Permission::from_state("weird"), Permission::Unsupported);
    }

    #[test]
    fn every_reason_has_words_and_every_problem_advice() {
        for link in [
            BridgeLink::NotPaired,
            BridgeLink::Unpaired,
            BridgeLink::TokenRefused,
            BridgeLink::PermissionNeeded,
            BridgeLink::PermissionDenied,
            BridgeLink::NoAnswer { https: false },
            BridgeLink::NoAnswer { https: true },
        ] {
            assert!(link.label().starts_with("Bridge: "));
            assert!(link.advice().is_some(), "{link:?}");
            assert!(!link.is_connected());
        }
        assert!(BridgeLink::Connected.advice().is_none());
    }

    #[test]
    fn a_setup_link_carries_what_the_register_needs() {
        let link = SetupLink {
            oms_url: "https://127.0.0.1:8080".into(),
            secret: "a&b=c d%".into(),
            bridge: Some(LinkBridge {
                url: "https://127.0.0.1:7878".into(),
                code: "123456".into(),
            }),
        };
        let fragment = link.to_fragment();
        assert!(fragment.starts_with("setup="));
        assert!(!fragment.contains('&'), "one opaque value: {fragment}");
        assert_eq!(
            SetupLink::parse(&format!("#{fragment}")),
            Some(Ok(link.clone()))
        );
        assert_eq!(SetupLink::parse("#/sales"), None);
        assert_eq!(SetupLink::parse("#setup=%zz"), None);
        // A link without a bridge enrols; the register pairs by hand.
        let alone = SetupLink {
            bridge: None,
            ..link.clone()
        };
        assert_eq!(
            SetupLink::parse(&format!("#{}", alone.to_fragment())),
            Some(Ok(alone))
        );
        let half = SetupLink::parse("#setup=oms%3Dx%26enrol%3Dy%26bridge%3Dz").expect("a link");
        assert_eq!(
            half,
            Err("The setup link is incomplete (code is missing): ask for a new link".into())
        );
        let missing = SetupLink::parse("#setup=oms%3Dx").expect("a setup link");
        assert_eq!(
            missing,
            Err("The setup link is incomplete (enrol is missing): ask for a new link".into())
        );
    }
}
