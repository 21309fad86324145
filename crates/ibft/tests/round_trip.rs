//! Properties: `parse(emit(x)) == x` for every table value with canonical addresses,
//! `emit(parse(b)) == b` for every table this crate made, and the builder accepts exactly the
//! tables whose [`Ibft::check`] has no error.

use ibft::{Ibft, IbftBuilder, Problem, Severity};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_inverts_emit(ibft in ibft::arbitrary::ibft()) {
        let bytes = ibft.to_bytes().expect("small tables emit");
        prop_assert_eq!(bytes.len(), ibft.buffer_len().expect("sized"));
        prop_assert_eq!(ibft::checksum::sum(&bytes), 0);
        let parsed = Ibft::parse(&bytes).expect("our tables parse");
        prop_assert_eq!(&parsed, &ibft);
        // Canonical bytes: re-emitting the parsed table gives them back.
        prop_assert_eq!(parsed.to_bytes().expect("emits"), bytes);
    }

    #[test]
    fn our_tables_have_no_layout_problems(ibft in ibft::arbitrary::ibft()) {
        let bytes = ibft.to_bytes().expect("emits");
        let content: Vec<Problem> = ibft.check().into_iter().map(Problem::Issue).collect();
        // Whatever lint finds beyond the content checks would be a fault of our layout.
        let problems = Ibft::lint(&bytes);
        let layout: Vec<String> = problems
            .iter()
            .filter(|p| !content.contains(p))
            .map(ToString::to_string)
            .collect();
        prop_assert!(layout.is_empty(), "{:?}", layout);
    }

    #[test]
    fn builder_round_trips_buildable_tables(ibft in ibft::arbitrary::buildable()) {
        let mut builder = IbftBuilder::new()
            .header(ibft.header)
            .single_login(ibft.control.flags.single_login());
        if let Some(initiator) = &ibft.initiator {
            builder = builder.initiator(initiator.clone());
        }
        for nic in ibft.nics.iter().flatten() {
            builder = builder.nic(nic.clone());
        }
        for target in ibft.targets.iter().flatten() {
            builder = builder.target(target.clone());
        }
        prop_assert_eq!(builder.clone().build_ibft().expect("buildable"), ibft.clone());
        let bytes = builder.build().expect("buildable");
        prop_assert_eq!(Ibft::parse(&bytes).expect("parses"), ibft);
        let errors: Vec<String> = Ibft::lint(&bytes)
            .iter()
            .filter(|p| p.severity() == Severity::Error)
            .map(ToString::to_string)
            .collect();
        prop_assert!(errors.is_empty(), "{:?}", errors);
    }

    #[test]
    fn builder_refuses_exactly_tables_with_errors(ibft in ibft::arbitrary::ibft()) {
        // Slots in order, indices = slots: what the builder can express.
        let nics: Vec<_> = ibft.nics.iter().flatten().cloned().collect();
        let targets: Vec<_> = ibft.targets.iter().flatten().cloned().collect();
        let mut builder = IbftBuilder::new().header(ibft.header);
        if let Some(initiator) = &ibft.initiator {
            builder = builder.initiator(initiator.clone());
        }
        for nic in &nics {
            builder = builder.nic(nic.clone());
        }
        for target in &targets {
            builder = builder.target(target.clone());
        }
        match builder.build_ibft() {
            Ok(built) => prop_assert!(built.check().iter().all(|i| i.severity != Severity::Error)),
            Err(ibft::Error::Rejected(issue)) => prop_assert_eq!(issue.severity, Severity::Error),
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }
}
