//! SendTargets (RFC 7143 §12.3 "Discovery Session" and appendix C): which targets an initiator
//! is told about.

use iscsi_pdu::IscsiName;

use crate::{SessionKind, TargetConfig, TargetNode};

/// Appends the answer to `SendTargets=<value>` to `out`: `TargetName` and its `TargetAddress`
/// list for each target `initiator` may use. An initiator never learns of a target its ACL
/// refuses: a target it may not use is answered like one that does not exist (no pairs).
///
/// A value that is neither `All`, empty, nor an iSCSI name is answered `SendTargets=Reject`
/// (RFC 7143 §6.2: "the responder ... MUST answer with Reject" for values it does not
/// accept), which libiscsi's `iSCSISendTargets.Invalid` test expects.
pub(crate) fn send_targets(
    config: &TargetConfig,
    initiator: &IscsiName,
    session_target: Option<&IscsiName>,
    kind: SessionKind,
    value: &str,
    out: &mut Vec<u8>,
) {
    let admitted = |t: &&TargetNode| t.admits(initiator);
    let chosen: Vec<&TargetNode> = match (value, kind) {
        ("All", _) => config.targets.iter().filter(admitted).collect(),
        // In a Normal session the empty value means the session's own target.
        ("", SessionKind::Normal) => session_target
            .and_then(|name| config.target(name))
            .into_iter()
            .filter(admitted)
            .collect(),
        ("", SessionKind::Discovery) => Vec::new(),
        (name, _) => match IscsiName::prepare(name) {
            Ok(name) => config.target(&name).into_iter().filter(admitted).collect(),
            Err(_) => {
                push(out, "SendTargets", "Reject");
                return;
            }
        },
    };
    // Written as bytes rather than through `TextPairs`, whose pair limit protects parsers:
    // the answer's size is set by the configuration, not by the initiator, and a portal with
    // hundreds of targets must list them all (tgt once overflowed at ~70).
    for target in chosen {
        push(out, "TargetName", target.name.as_str());
        for portal in &config.portals {
            push(
                out,
                "TargetAddress",
                &format!("{portal},{}", config.portal_group_tag),
            );
        }
    }
}

/// Appends `key=value\0`.
pub(crate) fn push(out: &mut Vec<u8>, key: &str, value: &str) {
    out.extend_from_slice(key.as_bytes());
    out.push(b'=');
    out.extend_from_slice(value.as_bytes());
    out.push(0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InitiatorAcl;
    use iscsi_pdu::text_data::TextPairs;

    fn name(s: &str) -> IscsiName {
        IscsiName::parse(s).unwrap()
    }

    #[test]
    fn lists_only_admitted_targets() {
        let a = name("iqn.2010-04.org.ipxe:a");
        let b = name("iqn.2010-04.org.ipxe:b");
        let config = TargetConfig {
            portals: vec!["192.0.2.1:3260".into()],
            targets: vec![
                TargetNode::new(name("iqn.2026-01.com.example:ta"))
                    .with_initiators(InitiatorAcl::only([a.clone()])),
                TargetNode::new(name("iqn.2026-01.com.example:tb"))
                    .with_initiators(InitiatorAcl::only([b.clone()])),
                TargetNode::new(name("iqn.2026-01.com.example:all"))
                    .with_initiators(InitiatorAcl::AllowAll),
            ],
            ..TargetConfig::default()
        };
        let mut out = Vec::new();
        send_targets(&config, &a, None, SessionKind::Discovery, "All", &mut out);
        let out = TextPairs::parse(&out).unwrap();
        let names: Vec<_> = out.get_all("TargetName").collect();
        assert_eq!(
            names,
            ["iqn.2026-01.com.example:ta", "iqn.2026-01.com.example:all"]
        );
        assert_eq!(out.get("TargetAddress"), Some("192.0.2.1:3260,1"));

        let mut out = Vec::new();
        send_targets(
            &config,
            &a,
            None,
            SessionKind::Discovery,
            "iqn.2026-01.com.example:tb",
            &mut out,
        );
        assert!(out.is_empty());
    }

    #[test]
    fn rejects_values_that_are_not_names() {
        let config = TargetConfig::default();
        let a = name("iqn.2010-04.org.ipxe:a");
        for value in ["Alle", "A", "aLL"] {
            let mut out = Vec::new();
            send_targets(&config, &a, None, SessionKind::Discovery, value, &mut out);
            let out = TextPairs::parse(&out).unwrap();
            assert_eq!(out.get("SendTargets"), Some("Reject"), "{value}");
        }
    }
}
