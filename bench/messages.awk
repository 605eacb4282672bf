# messages.awk: the messages of bench/deliver.sh, as an MTA hands them over.
#
#   LC_ALL=C awk -v n=1000 -v dir=DIR -f bench/messages.awk > LIST
#
# Writes DIR/0001.eml ... DIR/NNNN.eml and prints each path on stdout;
# writes DIR/members ("address|name|other address") for "member add".
# The messages are German list mail of 2-4 KB: UTF-8 text with umlauts,
# RFC 2047 subjects and names, 8bit or quoted-printable, one in ten
# multipart/alternative with HTML; about 45% are replies to an earlier
# message with In-Reply-To and References, quoting it.  Every sender is a
# member.  Each Message-ID carries the message's number, so ids are unique.
#
# The numbers come from a Park-Miller generator with a fixed seed, not
# rand(), so the messages do not depend on the awk's rand() (tested with
# mawk).  Run it with LC_ALL=C: lengths are counted in bytes.

BEGIN {
	if (n == "" || dir == "") {
		print "usage: awk -v n=N -v dir=DIR -f messages.awk" \
		    > "/dev/stderr"
		exit 64
	}
	seed = 20261203
	setup()

	# The members, for the script's "member add".
	for (k = 1; k <= nmembers; k++)
		print maddr[k] "|" mname[k] "|" mother[k] > (dir "/members")
	close(dir "/members")

	# One message per file, threads growing as the list goes on.
	for (i = 1; i <= n; i++) {
		make(i)
		printf "%s/%04d.eml\n", dir, i
	}
}

# rnd: the next pseudo-random integer in [0, m).
function rnd(m) {
	seed = (seed * 16807) % 2147483647
	return seed % m
}

# setup: members, subjects, sentences, and a byte table for the encoders.
function setup(    k) {
	for (k = 1; k < 256; k++)
		ord[sprintf("%c", k)] = k

	nmembers = split("juergen.mueller@example.org|aenne@example.net|" \
	    "t.weiss@example.org|sarah@example.com|k.oezdemir@example.de|" \
	    "hans-peter.gross@example.org", maddr, "|")
	split("Jürgen Müller|Änne Schäfer|Thomas Weiß|Sarah Connor-Becker|" \
	    "Kübra Özdemir|Hans-Peter Groß", mname, "|")
	split("Jürgen|Änne|Thomas|Sarah|Kübra|Hans-Peter", mfirst, "|")
	split("Thunderbird|Outlook|iPhone|Thunderbird|Gmail|Outlook", mua, "|")
	# Änne also writes from her work address (her second address).
	mother[2] = "aenne.schaefer@example.com"

	nsubjects = split("Protokoll der Vorstandssitzung vom 14. November|" \
	    "Einladung zur Mitgliederversammlung – Tagesordnung|" \
	    "Schlüsselübergabe für den Großen Saal|" \
	    "Änderungen am Haushaltsplan 2027|" \
	    "Sommerfest: Helferliste und Kuchenspenden|" \
	    "Rückfragen zur Förderung durch die Stadt|" \
	    "Lesepaten-Aktion in der Grundschule Süd|" \
	    "Neue Öffnungszeiten der Geschäftsstelle|" \
	    "Fahrgemeinschaft zum Regionaltreffen nach Würzburg|" \
	    "Datenschutz: Einverständniserklärungen für Fotos|" \
	    "Kassenprüfung – Termin gesucht|" \
	    "Weihnachtsfeier im Gemeindehaus|" \
	    "Reparatur der Heizung im Vereinsheim|" \
	    "Spendenquittungen für das Jahr 2026|" \
	    "Übergabe des Kassenbuchs|" \
	    "Plakate für den Flohmarkt drucken|" \
	    "Mitgliedsbeiträge: Lastschrift im Januar|" \
	    "Grünschnitt-Aktion am Samstag", subjects, "|")

	nsentences = split("vielen Dank für die schnelle Rückmeldung, das " \
	    "hilft uns sehr weiter.|" \
	    "Ich habe die Unterlagen noch einmal durchgesehen und ein paar " \
	    "kleine Änderungen eingetragen.|" \
	    "Können wir das bei der nächsten Sitzung kurz besprechen? Mir " \
	    "wären zehn Minuten am Anfang am liebsten.|" \
	    "Der Schlüssel für den Großen Saal liegt ab Donnerstag in der " \
	    "Geschäftsstelle bereit.|" \
	    "Bitte denkt daran, die Belege bis Ende des Monats bei mir " \
	    "abzugeben, sonst wird die Kassenprüfung schwierig.|" \
	    "Für das Sommerfest brauchen wir noch drei Helferinnen oder " \
	    "Helfer für den Kuchenstand und zwei für den Abbau.|" \
	    "Die Stadt hat die Förderung grundsätzlich zugesagt, möchte aber " \
	    "einen ausführlicheren Kostenplan sehen.|" \
	    "Ich würde vorschlagen, dass wir die Einladung diesmal auch über " \
	    "die Schaukästen und die Gemeindezeitung verteilen.|" \
	    "Die Heizung im Vereinsheim ist leider wieder ausgefallen; der " \
	    "Techniker kommt frühestens am Dienstag.|" \
	    "Für die Fotos vom Lesefest brauchen wir von allen Eltern eine " \
	    "unterschriebene Einverständniserklärung.|" \
	    "Wer fährt am Samstag mit nach Würzburg? Ich hätte noch zwei " \
	    "Plätze im Auto frei, Abfahrt um 8:30 Uhr am Bürgerhaus.|" \
	    "Die Spendenquittungen für 2026 verschicke ich gesammelt in der " \
	    "zweiten Januarwoche.|" \
	    "Änne hat angeboten, die Plakate im Copyshop in der Königstraße " \
	    "drucken zu lassen; das wäre deutlich günstiger.|" \
	    "Aus meiner Sicht spricht nichts dagegen, wir sollten es aber " \
	    "im Protokoll festhalten.|" \
	    "Könnte jemand bis Freitag eine kurze Übersicht über die offenen " \
	    "Punkte zusammenstellen?|" \
	    "Die Öffnungszeiten der Geschäftsstelle ändern sich ab Januar: " \
	    "montags und donnerstags von 15 bis 18 Uhr.|" \
	    "Beim letzten Treffen hatten wir vereinbart, dass größere " \
	    "Ausgaben über 500 € vorher abgestimmt werden.|" \
	    "Ich bin nächste Woche im Urlaub und erst ab dem 23. wieder " \
	    "erreichbar; in dringenden Fällen bitte an Thomas wenden.|" \
	    "Das Protokoll ist jetzt im gemeinsamen Ordner unter " \
	    "„Vorstand/2026“ abgelegt.|" \
	    "Für die Grünschnitt-Aktion stellt der Bauhof wieder einen " \
	    "Container zur Verfügung, Handschuhe bringt bitte jeder " \
	    "selbst mit.|" \
	    "Ehrlich gesagt bin ich mir bei dem Angebot der Druckerei nicht " \
	    "sicher, die Preise scheinen mir ziemlich hoch.|" \
	    "Die Lastschriften für die Mitgliedsbeiträge gehen am 15. Januar " \
	    "raus; Änderungen der Bankverbindung bitte vorher melden.|" \
	    "Zur Übergabe des Kassenbuchs schlage ich den 2. Dezember um " \
	    "18 Uhr im Vereinsheim vor.|" \
	    "Grüße auch von Kübra, die heute leider nicht dabei sein konnte.",
	    sentences, "|")

	split("Mon|Tue|Wed|Thu|Fri|Sat|Sun", wday, "|")
}

# qenc: s as RFC 2047 encoded words (UTF-8, Q), folded every ~60 bytes and
# never inside a UTF-8 sequence; s itself when it is printable ASCII.
function qenc(s,    i, c, b, tok, word, out, plain) {
	plain = 1
	for (i = 1; i <= length(s); i++)
		if (ord[substr(s, i, 1)] >= 128)
			plain = 0
	if (plain)
		return s
	out = ""
	word = ""
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		b = ord[c]
		if (c == " ")
			tok = "_"
		else if (c ~ /[A-Za-z0-9.-]/)
			tok = c
		else
			tok = sprintf("=%02X", b)
		# Start a new word before a character's first byte only.
		if (length(word) + length(tok) > 60 && (b < 128 || b >= 192)) {
			out = out (out == "" ? "" : "\n ") \
			    "=?UTF-8?Q?" word "?="
			word = ""
		}
		word = word tok
	}
	return out (out == "" ? "" : "\n ") "=?UTF-8?Q?" word "?="
}

# qp: one line of text as quoted-printable, with soft breaks at 76.
function qp(line,    i, c, b, tok, out, cur) {
	out = ""
	cur = ""
	for (i = 1; i <= length(line); i++) {
		c = substr(line, i, 1)
		b = ord[c]
		if (b >= 128 || c == "=" || (c == " " && i == length(line)))
			tok = sprintf("=%02X", b)
		else
			tok = c
		if (length(cur) + length(tok) > 75) {
			out = out cur "=\n"
			cur = ""
		}
		cur = cur tok
	}
	return out cur
}

# wrap: a paragraph as lines of at most 72 bytes.
function wrap(p,    nw, w, k, line, out) {
	nw = split(p, w, " ")
	line = ""
	out = ""
	for (k = 1; k <= nw; k++) {
		if (line != "" && length(line) + 1 + length(w[k]) > 72) {
			out = out line "\n"
			line = w[k]
		} else
			line = line (line == "" ? "" : " ") w[k]
	}
	return out line
}

# paragraph: two or three sentences, the first capitalised after a
# greeting line.
function paragraph(    k, s, p) {
	p = ""
	for (k = 2 + rnd(2); k > 0; k--) {
		s = sentences[1 + rnd(nsentences)]
		p = p (p == "" ? "" : " ") s
	}
	return toupper(substr(p, 1, 1)) substr(p, 2)
}

# date: the Date header of the message sent at minute t after Monday,
# 2 November 2026, 08:00 +0100.
function date(t, sec,    day, h, mi) {
	t += 8 * 60
	day = int(t / 1440)
	h = int((t % 1440) / 60)
	mi = t % 60
	return sprintf("%s, %d Nov 2026 %02d:%02d:%02d +0100",
	    wday[1 + day % 7], 2 + day, h, mi, sec)
}

# msgid: a Message-ID in the style of the sender's mail program.
function msgid(i, who,    host) {
	host = maddr[who]
	sub(/.*@/, "", host)
	if (mua[who] == "Outlook")
		return sprintf("%012d$%08x$%04x@%s", i, rnd(2147483646),
		    rnd(65536), host)
	if (mua[who] == "iPhone")
		return sprintf("%08X-%04X-%04X-%04d-%08X@%s", rnd(2147483646),
		    rnd(65536), rnd(65536), i, rnd(2147483646), host)
	return sprintf("%08x-%04x-4%03x-%04d-%08x@%s", rnd(2147483646),
	    rnd(65536), rnd(4096), i, rnd(2147483646), host)
}

# make: message i, written to DIR/iiii.eml.
function make(i,    f, who, parent, subj, refs, t, text, k,
    target, head, quote, ql, nq, html, boundary, cte, multi, addr, ra,
    budget, para) {
	f = sprintf("%s/%04d.eml", dir, i)

	# Who writes, when, and to which thread.
	who = 1 + rnd(nmembers)
	addr = maddr[who]
	if (mother[who] != "" && rnd(3) == 0)
		addr = mother[who]
	t = i * 7 + rnd(5)
	parent = 0
	if (i > 5 && rnd(100) < 45)
		parent = i - 1 - rnd(i - 1 < 40 ? i - 1 : 40)
	if (parent > 0) {
		subj = (mua[who] == "Outlook" ? "AW: " : "Re: ") root[parent]
		root[i] = root[parent]
		refs = refsof[parent] (refsof[parent] == "" ? "" : " ") \
		    "<" id[parent] ">"
		# Keep the last ten ids, as mail programs do.
		while (split(refs, ra, " ") > 10)
			sub(/^[^ ]+ /, "", refs)
	} else {
		root[i] = subjects[1 + rnd(nsubjects)]
		subj = root[i]
		refs = ""
	}
	refsof[i] = refs
	id[i] = msgid(i, who)
	writer[i] = who
	sent[i] = date(t, rnd(60))
	multi = rnd(10) == 0
	cte = (multi || mua[who] == "Outlook") ? "quoted-printable" : "8bit"

	# The header, as Postfix delivers it to the pipe.
	head = "Return-Path: <" addr ">\n" \
	    "Delivered-To: bench@lists.example.org\n" \
	    "Received: from mail." substr(addr, index(addr, "@") + 1) \
	    " (mail." substr(addr, index(addr, "@") + 1) \
	    " [198.51.100." (10 + who) "])\n" \
	    "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256" \
	    " bits))\n" \
	    "\tby mx.lists.example.org (Postfix) with ESMTPS id " \
	    sprintf("4Zm%05X%04d", rnd(1048576), i) "\n" \
	    "\tfor <bench@lists.example.org>; " date(t, 59) "\n" \
	    "From: " qenc(mname[who]) " <" addr ">\n" \
	    "To: Bench <bench@lists.example.org>\n" \
	    "Subject: " (parent > 0 ? substr(subj, 1, 4) \
	    qenc(substr(subj, 5)) : qenc(subj)) "\n" \
	    "Date: " sent[i] "\n" \
	    "Message-ID: <" id[i] ">\n"
	if (parent > 0)
		head = head "In-Reply-To: <" id[parent] ">\n" \
		    "References: " refs "\n"
	head = head "MIME-Version: 1.0\n"
	if (mua[who] == "Thunderbird")
		head = head "User-Agent: Mozilla Thunderbird\n" \
		    "Content-Language: de-DE\n"
	else if (mua[who] == "Outlook")
		head = head "X-Mailer: Microsoft Outlook 16.0\n" \
		    "Content-Language: de\n"
	else if (mua[who] == "iPhone")
		head = head "X-Mailer: iPhone Mail (21F90)\n"

	# The text: greeting, paragraphs up to the target size, the quoted
	# parent for replies, and a signature.
	target = 2350 + rnd(1500)
	text = (parent > 0 ? "Hallo " mfirst[writer[parent]] "," : \
	    "Liebe alle,") "\n\n"
	first[i] = paragraph()
	text = text wrap(first[i]) "\n"
	quote = ""
	if (parent > 0) {
		nq = split(wrap(first[parent]), ql, "\n")
		quote = "\nAm " sent[parent] " schrieb " mname[writer[parent]] \
		    ":\n"
		for (k = 1; k <= nq; k++)
			quote = quote "> " ql[k] "\n"
	}
	budget = target - length(head) - length(quote) - 200
	if (multi)
		budget = budget / 2 - 150
	if (cte == "quoted-printable")
		budget = budget * 0.88
	for (;;) {
		para = wrap(paragraph())
		if (length(text) + length(para) + 1 > budget)
			break
		text = text "\n" para "\n"
	}
	text = text "\nViele Grüße\n" mfirst[who] "\n" quote \
	    "\n-- \n" mname[who] "\nFörderverein Bürgerhaus Süd e. V.\n"

	# The body: plain text, or text and HTML as alternatives.
	if (!multi) {
		head = head "Content-Type: text/plain; charset=UTF-8\n" \
		    "Content-Transfer-Encoding: " cte "\n"
		print head > f
		printf "%s", encode(text, cte) > f
	} else {
		boundary = sprintf("----=_Part_%d_%d", i, rnd(2147483646))
		head = head "Content-Type: multipart/alternative;\n" \
		    "\tboundary=\"" boundary "\"\n"
		html = text
		gsub(/&/, "\\&amp;", html)
		gsub(/</, "\\&lt;", html)
		gsub(/>/, "\\&gt;", html)
		gsub(/\n\n/, "</p>\n<p>", html)
		html = "<html><head><meta charset=\"utf-8\"></head><body>\n" \
		    "<p>" html "</p>\n</body></html>\n"
		print head > f
		print "This is a multi-part message in MIME format.\n" > f
		print "--" boundary > f
		print "Content-Type: text/plain; charset=UTF-8" > f
		print "Content-Transfer-Encoding: " cte "\n" > f
		printf "%s", encode(text, cte) > f
		print "--" boundary > f
		print "Content-Type: text/html; charset=UTF-8" > f
		print "Content-Transfer-Encoding: " cte "\n" > f
		printf "%s", encode(html, cte) > f
		print "--" boundary "--" > f
	}
	close(f)
}

# encode: text in the transfer encoding cte.
function encode(text, cte,    nl, l, k, out) {
	if (cte != "quoted-printable")
		return text
	nl = split(text, l, "\n")
	out = ""
	for (k = 1; k < nl || (k == nl && l[k] != ""); k++)
		out = out qp(l[k]) "\n"
	return out
}
