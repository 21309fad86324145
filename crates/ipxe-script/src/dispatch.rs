//! The dispatcher: one script for every client, which chains to the client's own script by MAC
//! address (`<prefix>${net0/mac:hexhyp}.ipxe`), the bootstrap pattern of matchbox and MAAS.

use crate::command::{Chain, Command, Ifconf, Label, NetDev, Sanboot};
use crate::dhcp::MacAddr;
use crate::error::Result;
use crate::script::{Line, Pipeline, Script};
use crate::uri::SanUri;
use crate::value::{Part, SettingRef, SettingType, Word};

/// What every per-client script name ends with.
const SUFFIX: &str = ".ipxe";

/// A script that loads the per-client script named after the booting interface's MAC address.
///
/// ```text
/// #!ipxe
/// dhcp net0 || goto failed                                   (configure: embedded scripts)
/// chain --autofree tftp://10.0.2.2/clients/${net0/mac:hexhyp}.ipxe || goto no-script
/// :no-script
/// isset ${root-path} || goto failed                          (root_path_fallback)
/// sanboot ${root-path} || goto failed
/// :failed
/// echo Boot failed for ${net0/mac:hexhyp}: ${errno}
/// exit 1
/// ```
///
/// ```
/// use ipxe_script::{Dispatcher, MacAddr, Word};
/// let d = Dispatcher::new(Word::literal("http://10.0.2.2/clients/")?);
/// let text = d.script()?.to_string();
/// assert!(text.contains("chain --autofree http://10.0.2.2/clients/${net0/mac:hexhyp}.ipxe || goto failed\n"));
/// let mac = MacAddr::parse("52:54:00:12:34:56")?;
/// assert_eq!(Dispatcher::script_name(mac), "52-54-00-12-34-56.ipxe");
/// # Ok::<(), ipxe_script::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dispatcher {
    /// Run `dhcp netN` first: for a script embedded in iPXE (CD/USB). A script that iPXE
    /// fetched after its own DHCP does not need it.
    pub configure: bool,
    /// The interface whose MAC address names the script.
    pub interface: NetDev,
    /// Where the per-client scripts are: a URL or path prefix, e.g. `tftp://10.0.2.2/clients/`
    /// or `http://${next-server}/clients/`.
    pub prefix: Word,
    /// When the client has no script, SAN-boot DHCP's root path (option 17) if there is one.
    pub root_path_fallback: bool,
}

impl Dispatcher {
    /// Chains to `<prefix><net0 MAC, hexhyp>.ipxe`, without `dhcp` and without the fallback.
    ///
    /// ```
    /// use ipxe_script::{Dispatcher, Word};
    /// assert!(!Dispatcher::new(Word::literal("clients/")?).configure);
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn new(prefix: Word) -> Self {
        Dispatcher {
            configure: false,
            interface: NetDev(0),
            prefix,
            root_path_fallback: false,
        }
    }

    /// The file name the dispatcher asks for on behalf of `mac`: write each client's script
    /// under this name, below the prefix.
    ///
    /// ```
    /// use ipxe_script::{Dispatcher, MacAddr};
    /// assert_eq!(Dispatcher::script_name(MacAddr([0xab; 6])), "ab-ab-ab-ab-ab-ab.ipxe");
    /// ```
    pub fn script_name(mac: MacAddr) -> String {
        format!("{}{SUFFIX}", mac.hexhyp())
    }

    /// The URL word: `<prefix>${netN/mac:hexhyp}.ipxe`.
    ///
    /// # Errors
    ///
    /// [`crate::Error::ExpansionBoundary`] if the prefix ends with `$`.
    ///
    /// ```
    /// use ipxe_script::{Dispatcher, Word};
    /// let d = Dispatcher::new(Word::literal("c/")?);
    /// assert_eq!(d.url()?.to_string(), "c/${net0/mac:hexhyp}.ipxe");
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn url(&self) -> Result<Word> {
        let mac = SettingRef::mac(self.interface.0, Some(SettingType::Hexhyp));
        let parts = self
            .prefix
            .parts()
            .iter()
            .cloned()
            .chain([Part::Expand(mac), Part::Literal(SUFFIX.into())]);
        Word::from_parts(parts)
    }

    /// Builds the script.
    ///
    /// # Errors
    ///
    /// As [`Dispatcher::url`].
    ///
    /// ```
    /// use ipxe_script::{Dispatcher, Script, Word};
    /// let mut d = Dispatcher::new(Word::literal("tftp://10.0.2.2/clients/")?);
    /// d.configure = true;
    /// d.root_path_fallback = true;
    /// let s = d.script()?;
    /// assert_eq!(Script::parse(&s.to_string())?, s);
    /// assert!(s.to_string().contains("sanboot ${root-path} || goto failed\n"));
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn script(&self) -> Result<Script> {
        let failed = Label::new("failed")?;
        let no_script = Label::new("no-script")?;
        let mac = SettingRef::mac(self.interface.0, Some(SettingType::Hexhyp));
        let mut lines: Vec<Line> = Vec::new();
        if self.configure {
            lines.push(
                Pipeline::new(Command::Dhcp(Ifconf {
                    interfaces: vec![self.interface],
                    ..Ifconf::default()
                }))
                .or(Command::Goto(failed.clone()))
                .into(),
            );
        }
        let mut chain = Chain::new(self.url()?);
        chain.autofree = true;
        let after_chain = if self.root_path_fallback {
            no_script.clone()
        } else {
            failed.clone()
        };
        lines.push(
            Pipeline::new(Command::Chain(chain))
                .or(Command::Goto(after_chain))
                .into(),
        );
        if self.root_path_fallback {
            let root_path = SettingRef::named("root-path")?;
            lines.push(Line::Label(no_script));
            lines.push(
                Pipeline::new(Command::Isset(Word::expansion(root_path.clone())))
                    .or(Command::Goto(failed.clone()))
                    .into(),
            );
            lines.push(
                Pipeline::new(Command::Sanboot(Sanboot {
                    uris: vec![SanUri::from(root_path)],
                    ..Sanboot::default()
                }))
                .or(Command::Goto(failed.clone()))
                .into(),
            );
        }
        lines.push(Line::Label(failed));
        lines.push(
            Command::Echo {
                no_newline: false,
                text: vec![
                    Word::literal("Boot")?,
                    Word::literal("failed")?,
                    Word::literal("for")?,
                    Word::from_parts([Part::Expand(mac), Part::Literal(":".into())])?,
                    Word::expansion(SettingRef::named("errno")?),
                ],
            }
            .into(),
        );
        lines.push(Command::Exit(Some(1)).into());
        Script::new(lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn names_the_script_after_the_chosen_interface() {
        let mut d = Dispatcher::new(Word::literal("c/").unwrap());
        d.interface = NetDev(1);
        let text = d.script().unwrap().to_string();
        assert!(text.contains("chain --autofree c/${net1/mac:hexhyp}.ipxe || goto failed\n"));
        assert!(text.contains("echo Boot failed for ${net1/mac:hexhyp}: ${errno}\n"));
    }

    #[test]
    fn rejects_a_prefix_that_would_form_an_expansion() {
        let d = Dispatcher::new(Word::literal("c$").unwrap());
        assert_eq!(d.url(), Err(Error::ExpansionBoundary { what: "word" }));
    }

    #[test]
    fn script_names_match_what_hexhyp_expands_to() {
        let mac = MacAddr([0x52, 0x54, 0x00, 0xab, 0xcd, 0xef]);
        let d = Dispatcher::new(Word::literal("c/").unwrap());
        let url = d.url().unwrap();
        let expanded = url.expand_with(&mut |_| mac.hexhyp());
        assert_eq!(expanded, format!("c/{}", Dispatcher::script_name(mac)));
    }
}
