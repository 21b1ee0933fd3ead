//! HTML through minijinja: a self-contained page (inline CSS, charts as
//! inline SVG, the logo as a `data:` URI, no external requests) that looks
//! like the PDF, and the templates of the e-mails in [`crate::render::email`].
//!
//! Templates are embedded and can be overridden by the host, from strings
//! ([`Templates::with_template`]) or a directory ([`Templates::from_dir`]).
//! Autoescaping is on for every template whose name ends in `.html`, so user
//! strings (team names, titles, branding texts) cannot inject markup; the
//! charts, built by [`crate::render::charts`] with their own escaping, are the
//! only values marked safe.

use std::path::Path;
use std::sync::Arc;

use minijinja::{context, Environment};

use crate::model::{Artifact, ReportDocument, ReportFormat};
use crate::ports::{RenderedReport, Renderer};
use crate::render::json::file_stem;
use crate::render::view::ReportView;
use crate::{Error, Result};

/// Names of the templates a host may override.
pub const TEMPLATE_NAMES: [&str; 3] = ["report.html", "email.html", "email.txt"];

const REPORT_HTML: &str = include_str!("templates/report.html");
const EMAIL_HTML: &str = include_str!("templates/email.html");
const EMAIL_TXT: &str = include_str!("templates/email.txt");

pub(crate) fn render_err(format: &'static str, e: minijinja::Error) -> Error {
    let mut message = e.to_string();
    if let (Some(name), Some(line)) = (e.name(), e.line()) {
        if !message.contains(&format!("line {line}")) {
            message = format!("{message} ({name} line {line})");
        }
    }
    Error::Render { format, message }
}

/// The set of HTML and e-mail templates, compiled once; cheap to clone.
#[derive(Clone)]
pub struct Templates {
    env: Arc<Environment<'static>>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field(
                "templates",
                &self.env.templates().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn base_env() -> Environment<'static> {
    let env = Environment::new();
    env
}

impl Default for Templates {
    fn default() -> Self {
        let mut env = base_env();
        // The embedded templates are tested; a syntax error in them is a bug
        // caught by the test-suite, and is reported at render time.
        let _ = env.add_template("report.html", REPORT_HTML);
        let _ = env.add_template("email.html", EMAIL_HTML);
        let _ = env.add_template("email.txt", EMAIL_TXT);
        Templates { env: Arc::new(env) }
    }
}

impl Templates {
    /// The embedded templates.
    pub fn new() -> Self {
        Self::default()
    }

    /// The embedded templates, compiled once per process and shared.
    pub fn shared() -> Self {
        static SHARED: std::sync::OnceLock<Templates> = std::sync::OnceLock::new();
        SHARED.get_or_init(Templates::default).clone()
    }

    /// Replace one of [`TEMPLATE_NAMES`] with the host's source.
    ///
    /// # Errors
    /// [`Error::Invalid`] on `templates.<name>` for an unknown name, and
    /// [`Error::Render`] with the line for a syntax error.
    pub fn with_template(self, name: &str, source: impl Into<String>) -> Result<Self> {
        if !TEMPLATE_NAMES.contains(&name) {
            return Err(Error::invalid(
                format!("templates.{name}"),
                format!("unknown template; expected one of {TEMPLATE_NAMES:?}"),
            ));
        }
        let mut env = (*self.env).clone();
        env.add_template_owned(name.to_owned(), source.into())
            .map_err(|e| render_err("html", e))?;
        Ok(Templates { env: Arc::new(env) })
    }

    /// The embedded templates, with those of [`TEMPLATE_NAMES`] found in
    /// `dir` replacing them (missing files keep the embedded version).
    ///
    /// # Errors
    /// [`Error::Invalid`] on `templates.dir` when a file cannot be read,
    /// [`Error::Render`] for a template syntax error.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let mut t = Templates::default();
        for name in TEMPLATE_NAMES {
            let path = dir.as_ref().join(name);
            match std::fs::read_to_string(&path) {
                Ok(src) => t = t.with_template(name, src)?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(Error::invalid(
                        "templates.dir",
                        format!("cannot read {}: {e}", path.display()),
                    ))
                }
            }
        }
        Ok(t)
    }

    pub(crate) fn render(
        &self,
        format: &'static str,
        name: &str,
        ctx: minijinja::Value,
    ) -> Result<String> {
        let tmpl = self
            .env
            .get_template(name)
            .map_err(|e| render_err(format, e))?;
        tmpl.render(ctx).map_err(|e| render_err(format, e))
    }
}

/// The logo as a `data:` URI (PNG or SVG; an SVG in `<img>` runs no
/// script). A logo that fails [`Logo::validate`](crate::model::Logo::validate)
/// (stored before the checks existed) is left out.
pub fn logo_data_uri(doc: &ReportDocument) -> Option<String> {
    let logo = doc
        .branding
        .logo
        .as_ref()
        .filter(|l| l.validate().is_ok())?;
    Some(logo.data_uri())
}

/// Renders the self-contained HTML page.
#[derive(Clone, Debug, Default)]
pub struct HtmlRenderer {
    templates: Templates,
}

impl HtmlRenderer {
    /// With the embedded templates.
    pub fn new() -> Self {
        Self::default()
    }

    /// With the host's templates.
    pub fn with_templates(templates: Templates) -> Self {
        HtmlRenderer { templates }
    }

    /// The HTML page of `doc`.
    pub fn render_string(&self, doc: &ReportDocument) -> Result<String> {
        let view = ReportView::build(doc, true);
        self.templates.render(
            "html",
            "report.html",
            context! { r => minijinja::Value::from(minijinja::value::Serde(&view)), logo => logo_data_uri(doc) },
        )
    }
}

impl Renderer for HtmlRenderer {
    fn format(&self) -> ReportFormat {
        ReportFormat::Html
    }

    fn render(&self, doc: &ReportDocument) -> Result<RenderedReport> {
        let html = self.render_string(doc)?;
        Ok(RenderedReport {
            artifact: Artifact {
                file_name: format!("{}.html", file_stem(doc)),
                media_type: ReportFormat::Html.media_type().to_owned(),
                bytes: html.into_bytes(),
            },
            page_count: None,
        })
    }
}
