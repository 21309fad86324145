//! Property tests: whatever the inputs, a rendered script reads back as the AST (our parser)
//! and as meant (the model of iPXE's reader in `ipxe_script::fuzzing::ipxe`).

#![allow(clippy::unwrap_used)] // tests may unwrap, as unit tests do

use ipxe_script::fuzzing::{self, ipxe};
use ipxe_script::{
    Command, Comment, IscsiName, IscsiRootPath, Script, SettingRef, Word, arbitrary,
};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn scripts_read_back_as_meant(script in arbitrary::script(), salt in any::<u64>()) {
        fuzzing::check_script(&script, salt);
    }

    #[test]
    fn san_boot_scripts_read_back_as_meant(plan in arbitrary::san_boot_script(), salt in any::<u64>()) {
        if let Ok(script) = plan.script() {
            fuzzing::check_script(&script, salt);
            let text = script.to_string();
            let stored: Vec<Vec<u8>> = text.lines().filter_map(fuzzing::stored_by_set).collect();
            if let Some(chap) = &plan.chap {
                prop_assert!(stored.contains(&chap.username().as_bytes().to_vec()));
                prop_assert!(stored.contains(&chap.password().as_bytes().to_vec()));
                if let Some((u, p)) = chap.reverse() {
                    prop_assert!(stored.contains(&u.as_bytes().to_vec()));
                    prop_assert!(stored.contains(&p.as_bytes().to_vec()));
                }
            }
        } else {
            prop_assert_eq!(plan.retry.map(|r| r.attempts), Some(0));
        }
    }

    #[test]
    fn set_text_stores_any_text_exactly(text in arbitrary::hostile_text()) {
        let setting = SettingRef::named("password").unwrap();
        if text.contains('\0') {
            // iPXE would end the value at the NUL.
            prop_assert!(Command::set_text(setting, &text).is_err());
            return Ok(());
        }
        let command = Command::set_text(setting, &text).unwrap();
        let line = command.to_string();
        prop_assert_eq!(fuzzing::stored_by_set(&line), Some(text.into_bytes()));
        prop_assert!(!line.contains('\n'));
        fuzzing::check_script(&Script::new(vec![command.into()]).unwrap(), 0);
    }

    #[test]
    fn hostile_text_is_one_word_or_rejected(text in arbitrary::hostile_text()) {
        for word in [Word::literal(&text), Word::parse(&text)].into_iter().flatten() {
            // Every accepted word is one token with no comment, operator or continuation.
            let rendered = word.to_string();
            prop_assert_eq!(ipxe::split_command(&rendered), vec![rendered.clone()]);
            prop_assert!(!rendered.starts_with('#') && !rendered.ends_with('\\'));
        }
        // Comments never carry a command.
        if let Ok(c) = Comment::new(&text) {
            let script = Script::new(vec![ipxe_script::Line::Comment(c)]).unwrap();
            fuzzing::check_script(&script, 0);
        }
    }

    #[test]
    fn ipxe_reads_root_paths_as_built(rp in arbitrary::root_path()) {
        let text = rp.to_string();
        prop_assert_eq!(IscsiRootPath::parse(&text).unwrap(), rp.clone());
        let mut lookup = |_: &str| Some(String::from("52-54-00-12-34-56"));
        let expanded = ipxe::expand(&text, &mut lookup).unwrap();
        let read = ipxe::parse_iscsi_uri(&expanded).unwrap();
        prop_assert_eq!(read.server, rp.server().to_string());
        prop_assert_eq!(read.port, u64::from(rp.port()));
        prop_assert_eq!(read.lun, rp.lun().to_bytes());
        let target = rp.target().as_word().expand_with(&mut |_| "52-54-00-12-34-56".into());
        prop_assert_eq!(read.target, target);
    }

    #[test]
    fn iscsi_names_accept_only_valid_text(text in arbitrary::hostile_text()) {
        if let Ok(name) = IscsiName::new(&text) {
            prop_assert!(text.starts_with("iqn.") || text.starts_with("eui.") || text.starts_with("naa."));
            prop_assert!(!text.contains(|c: char| c.is_whitespace() || c == '#' || c == '%'));
            prop_assert_eq!(name.to_string(), text);
        }
    }

    #[test]
    fn script_parse_accepts_only_what_it_renders(text in "#!ipxe\n([a-z$#{}:|&; \\\\-]{0,12}\n){0,4}") {
        if let Ok(script) = Script::parse(&text) {
            prop_assert_eq!(script.to_string(), text);
            fuzzing::check_script(&script, 1);
        }
    }

    #[test]
    fn the_fuzz_target_holds_on_random_bytes(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        fuzzing::ipxe_render(&data);
    }
}
