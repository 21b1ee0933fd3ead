//! Send a report e-mail with its attachment over SMTP.
//!
//! ```text
//! # against a tiny SMTP sink started on loopback (prints the message):
//! cargo run --example smtp_send --features smtp
//! # against a real server (STARTTLS on 587):
//! SMTP_HOST=smtp.example.com SMTP_USER=me SMTP_PASSWORD=... \
//!     SMTP_FROM='Reports <reports@example.com>' SMTP_TO=you@example.com \
//!     cargo run --example smtp_send --features smtp
//! ```

use tokentra_reports::backends::smtp::{SmtpConfig, SmtpCredentials, SmtpDeliverer, SmtpSecurity};
use tokentra_reports::model::{Artifact, OrganizationId, ReportRecipient};
use tokentra_reports::ports::{Deliverer, Delivery, DeliveryKind};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Accept one connection, speak just enough SMTP, print the message.
async fn sink(listener: TcpListener) -> std::io::Result<()> {
    let (stream, _) = listener.accept().await?;
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    write.write_all(b"220 sink ESMTP\r\n").await?;
    let mut line = String::new();
    loop {
        line.clear();
        if read.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_ascii_uppercase();
        if cmd == "DATA" {
            write.write_all(b"354 go ahead\r\n").await?;
            let mut message = String::new();
            loop {
                line.clear();
                if read.read_line(&mut line).await? == 0 || line == ".\r\n" {
                    break;
                }
                message.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            println!("--- received by the sink ---\n{message}");
            write.write_all(b"250 queued\r\n").await?;
        } else if cmd == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            write.write_all(b"250 OK\r\n").await?;
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (config, to, server) = match std::env::var("SMTP_HOST") {
        Ok(host) => {
            let from = std::env::var("SMTP_FROM")?;
            let mut c = SmtpConfig::new(host, from);
            if let (Ok(user), Ok(password)) =
                (std::env::var("SMTP_USER"), std::env::var("SMTP_PASSWORD"))
            {
                c.credentials = Some(SmtpCredentials::new(user, password));
            }
            (c, std::env::var("SMTP_TO")?, None)
        }
        Err(_) => {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let mut c = SmtpConfig::new("127.0.0.1", "Cost Reports <reports@example.com>");
            c.port = Some(listener.local_addr()?.port());
            c.security = SmtpSecurity::Plain;
            c.reply_to = Some("finops@example.com".into());
            (
                c,
                "ana@example.com".into(),
                Some(tokio::spawn(sink(listener))),
            )
        }
    };
    println!("config: {config:?}");
    let smtp = SmtpDeliverer::new(config)?;
    let delivery = Delivery {
        idempotency_key: "rep_01:email:0".into(),
        organization_id: OrganizationId::new(),
        kind: DeliveryKind::Report,
        report_id: None,
        recipient: ReportRecipient::email(to),
        subject: "Monthly AI spend: October 2026".into(),
        html_body: Some(
            "<html><body><h1>Monthly AI spend</h1><p>Total <b>$1,234.50</b></p></body></html>"
                .into(),
        ),
        text_body: "Monthly AI spend\nTotal $1,234.50\n".into(),
        attachment: Some(Artifact {
            file_name: "costs-2026-10.csv".into(),
            media_type: "text/csv".into(),
            bytes: b"team,cost\nsearch,800.00\nads,434.50\n".to_vec(),
        }),
        download_url: Some("https://reports.example.com/d/abc?sig=xyz".into()),
        document: None,
    };
    let receipt = smtp.deliver(&delivery).await?;
    println!("sent, Message-ID {:?}", receipt.message_id);
    drop(smtp);
    if let Some(server) = server {
        server.await??;
    }
    Ok(())
}
