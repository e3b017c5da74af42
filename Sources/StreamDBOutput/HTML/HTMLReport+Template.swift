extension HTMLReport {
    /// The page, in Mustache: `{{name}}` is HTML-escaped (quotes included), so that text from the
    /// database (titles, ids, paths) shows as text. No `{{{...}}}`: nothing is inserted unescaped.
    static let template = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}}</title>
        <style>
        body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #111; background: #fff; }
        h1 { font-size: 20px; margin: 0 0 4px; }
        h2 { font-size: 16px; margin: 28px 0 8px; border-bottom: 1px solid #ccc; padding-bottom: 2px; }
        table { border-collapse: collapse; }
        th, td { text-align: left; padding: 3px 10px 3px 0; vertical-align: top; }
        td.n, th.n { text-align: right; }
        .meta { color: #444; }
        .stale { color: #b00; font-weight: bold; }
        .swatch { display: inline-block; width: 12px; height: 12px; border: 1px solid #555; vertical-align: -2px; margin-right: 4px; }
        .legend span.item { margin-right: 16px; white-space: nowrap; }
        .stream { margin: 0 0 10px; page-break-inside: avoid; }
        .stream h3 { font-size: 13px; font-weight: normal; margin: 0; height: 18px; overflow: hidden; white-space: nowrap; }
        .stream h3 code { font-weight: bold; }
        .flap { background: #000; color: #fff; padding: 0 4px; font-size: 11px; }
        svg.timeline { display: block; }
        svg.timeline .gone { fill-opacity: 0.9; }
        svg.timeline text { font-size: 9px; fill: #555; }
        svg.timeline path { fill: #000; stroke: #000; stroke-width: 1; }
        svg.timeline path.regions { fill: #555; stroke: #555; }
        svg.timeline path.replaced { fill: none; stroke-width: 2; }
        code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; }
        @media print { body { margin: 8mm; } h2 { page-break-after: avoid; } }
        </style>
        </head>
        <body>
        <h1>{{title}}</h1>
        <p class="meta">Window: {{window}}. Shown: {{filters}}. Written {{generated}} by streamdb.</p>

        <h2>Sources</h2>
        <table>
        <tr><th>source</th><th>URL</th><th>last successful sync</th><th>last run</th></tr>
        {{#sources}}
        <tr><td>{{name}}</td><td><code>{{url}}</code></td><td{{#stale}} class="stale"{{/stale}}>{{lastSuccess}}</td><td>{{lastRun}}</td></tr>
        {{/sources}}
        </table>

        <h2>Regions</h2>
        {{#hasRegions}}
        <table>
        <tr><th>region</th><th class="n">streams</th><th>now, by status</th><th class="n">availability</th><th class="n">outages</th><th class="n">flapping</th></tr>
        {{#regions}}
        <tr><td>{{name}}</td><td class="n">{{streams}}</td><td>{{#byStatus}}<span class="swatch" style="background:{{colour}}"></span>{{name}} {{count}} &nbsp; {{/byStatus}}</td><td class="n">{{availability}}</td><td class="n">{{outages}}</td><td class="n">{{flapping}}</td></tr>
        {{/regions}}
        </table>
        {{/hasRegions}}
        {{^hasRegions}}<p>No region matches.</p>{{/hasRegions}}

        <h2>Streams to look at</h2>
        <p>{{streamsNote}}</p>
        <p class="legend">{{#legend}}<span class="item">{{^marker}}<span class="swatch" style="background:{{colour}}"></span>{{/marker}}{{#marker}}<b>{{symbol}}</b> {{/marker}}{{name}}</span> {{/legend}}</p>
        {{#streams}}
        <div class="stream" id="{{anchor}}">
        <h3><code>{{jobUID}}</code> {{caption}} · availability {{availability}} · outages: {{outages}} {{#flapping}}<span class="flap">flapping</span>{{/flapping}}</h3>
        <svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="{{width}}" height="{{height}}" viewBox="0 0 {{width}} {{height}}" role="img" aria-label="status timeline of {{jobUID}}">
        <rect x="0" y="8" width="{{width}}" height="16" fill="#ffffff" stroke="#999999" stroke-width="0.5"/>
        {{#bars}}<rect class="{{kind}}" x="{{x}}" y="8" width="{{width}}" height="16" fill="{{colour}}"><title>{{title}}</title></rect>{{/bars}}
        {{#markers}}<path class="{{kind}}" d="{{path}}"><title>{{title}}</title></path>{{/markers}}
        {{#ticks}}<text x="{{x}}" y="33" text-anchor="{{anchor}}">{{label}}</text>{{/ticks}}
        </svg>
        </div>
        {{/streams}}

        <h2>Config changes</h2>
        <p>{{changesNote}}</p>
        {{#hasChanges}}
        <table>
        <tr><th>at</th><th>job_uid</th><th>changed paths</th><th>regions</th></tr>
        {{#changes}}
        <tr><td>{{at}}</td><td><code>{{jobUID}}</code></td><td><code>{{paths}}</code></td><td>{{regions}}</td></tr>
        {{/changes}}
        </table>
        {{/hasChanges}}
        </body>
        </html>

        """
}
