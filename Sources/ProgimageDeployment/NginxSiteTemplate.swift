import ProgimageAPI

/// The one nginx site. Disk first: originals from the data directory, derived files from
/// the cache; only a miss reaches an instance, chosen by `map` from the URL's last pixel
/// operation. Every error nginx makes itself is JSON.
///
/// A transform URL has one candidate file, so its location serves it as a static file and
/// turns the static handler's 404 into the miss (`error_page 404 = @miss`) instead of
/// asking `try_files` first: `try_files` is a `stat` and then the static handler `open`s
/// the same eight-component path again, which cost a hit ~7% of nginx's CPU.
///
/// Its `open_file_cache` keeps hot files open with `valid 0s`: a hit is one `stat` of the
/// path instead of `open`, `fstat` and `close` (2026-12-07, CPU per hit 33 against 37 µs,
/// medians of four alternating rounds; 7.0 against 8.6 system calls), and a deleted or
/// replaced file is a miss at once (the delete contract). Its descriptors outlive removed
/// files, so they are kept short: a worker closes an entry unused for 5 s when it serves
/// its next hits (two a hit), and misses are kept too (`errors on`), so that misses of
/// URLs a worker has not seen push its oldest entries out once it keeps 128 (a cache disk
/// that filled up, every request a miss, frees itself; misses of the same few URLs alone
/// would not). At worst, a worker that serves nothing keeps 128 removed files' blocks.
enum NginxSiteTemplate {
    static func text(_ p: NginxSiteParameters) -> String {
        let roles = TransformRole.all
        let operations = OperationCatalog.all.map { $0.name }
        let extensions = ImageFormat.allCases.map { $0.rawValue }.joined(separator: "|")
        let id = "(?<pi_s1>[A-Za-z0-9_-]{2})(?<pi_s2>[A-Za-z0-9_-]{2})(?<pi_rest>[A-Za-z0-9_-]{12,60})"
        let idVar = "$pi_s1$pi_s2$pi_rest"
        // A transform's whole file name below the shard directories in one capture, so that
        // `alias` joins three variables on every hit instead of seven.
        // With presets only, nothing but `preset:` segments: a free-form file made before the
        // switch is no longer served from disk.
        let transformSegments = p.presets.presetsOnly ? "(?:preset:[a-z0-9_-]{1,32}/)*preset:[a-z0-9_-]{1,32}" : ".+"
        let transformFile =
            "(?<pi_file>(?<pi_s1>[A-Za-z0-9_-]{2})(?<pi_s2>[A-Za-z0-9_-]{2})[A-Za-z0-9_-]{12,60}/\(transformSegments)\\.(?:\(extensions)))"
        let refusedTransforms =
            p.presets.presetsOnly
            ? """

                # Presets only: every other transform URL is the api instance's to refuse (403).
                location ~ "^/images/[A-Za-z0-9_-]{16,64}/.+\\.(?:\(extensions))$" {
                    fastcgi_pass progimage_api;
                }

            """ : ""
        let upstreams = roles.map { role in
            "upstream progimage_\(role) {\n    server unix:\(NginxConfiguration.socketPath(for: role, in: p.socketDirectory));\n}"
        }.joined(separator: "\n")
        let tail = p.presets.trailingSegments
        let roleMap = (operations.map { name in
            "    \"~/\(name)(?::[^/]*)?\(tail)\\.[A-Za-z0-9]+$\" \(name);"
        } + p.presets.roles.map { preset in
            "    \"~/preset:\(preset.name)\(tail)\\.[A-Za-z0-9]+$\" \(preset.role);"
        }).joined(separator: "\n")
        let types = ImageFormat.allCases.map { "        \($0.contentType) \($0.rawValue);" }.joined(separator: "\n")
        // Shared by both disk-first locations: files served as the contract's content types
        // with the contract's headers. No method check here: the static handler answers any
        // method but GET and HEAD on a file with 405 itself, and `@miss` checks before an
        // instance is asked; an `if` in these locations cost every hit ~1% of nginx's CPU.
        let diskFirst = diskHeaders(types: types, cache: "HIT")
        let disk = diskFirst.indented(by: 4)
        // The instance that made it (nginx keeps the upstream's headers' values for the
        // internal redirect), as on every other answer an instance gives.
        let fresh = (diskHeaders(types: types, cache: "MISS") + "\n        add_header X-Progimage-Instance $upstream_http_x_progimage_instance;")
            .indented(by: 4)
        // An original a box fetched first (its local copy was missing) is still the original
        // served by nginx from disk: API.md's "Originals are always ... (HIT)", and a HIT
        // carries no X-Progimage-Instance.
        let fetchedOriginal = diskHeaders(types: types, cache: "HIT").indented(by: 4)
        let writeOrigins: String
        var varyOrigin = "    default \"\";"
        switch p.writeOrigins {
        case .any: writeOrigins = "    default \"*\";"
        case .only(let origins):
            writeOrigins = (["    default \"\";"] + origins.map { "    \"\($0)\" $http_origin;" }).joined(separator: "\n")
            varyOrigin += "\n    \"~^(POST|DELETE) \" Origin;\n    \"~^OPTIONS (POST|DELETE)$\" Origin;"
        }
        let roleNames = roles.map { $0.rawValue }.joined(separator: "|")
        let errorPages = NginxErrorPage.all.map { $0.directive }.joined(separator: "\n    ")
        // A location with error_page directives of its own inherits none from the server.
        let transformErrorPages = NginxErrorPage.all.filter { $0.status != 404 }
            .map { "        " + $0.directive }.joined(separator: "\n")
        let errorLocations = NginxErrorPage.all.map { $0.location(cors: corsHeaders) }.joined(separator: "\n")
        let (metricsTop, metricsLog, metricsServer) = metricsParts(p.metrics)
        // From the one alias table the parser redirects by too (`.jpeg` → `.jpg`). The api
        // instance answers every alias, with operations or without, so that all redirects
        // are one answer: a relative Location (the URL as the client wrote it, whatever
        // host and port are in front) and the JSON body. nginx's own `return 301` here
        // named its internal port (`http://img.example.com:8303/…`) in an HTML page. With
        // operations it also puts their spelling right in the same 301.
        let aliases = ImageFormat.aliases.keys.sorted().joined(separator: "|")
        let aliasLocation = [
            "location ~ \"^/images/[A-Za-z0-9_-]{16,64}(?:/.+)?\\.(?:\(aliases))$\" {",
            "        fastcgi_pass progimage_api;",
            "    }",
        ].joined(separator: "\n")

        return """
            # progimage nginx site, generated from NginxSiteTemplate.swift by
            # `progimage-dev nginx-config`; do not edit by hand.

            \(upstreams)

            # CORS. Reads from any origin; writes (POST, DELETE, and their preflights) from the
            # origins of PROGIMAGE_CORS_ORIGINS only (unset: any under `make run`, none in
            # production). nginx leaves out a header whose value is empty.
            map $http_origin $progimage_write_origin {
            \(writeOrigins)
            }
            map "$request_method $http_access_control_request_method" $progimage_allow_origin {
                default "*";
                "~^(POST|DELETE) " $progimage_write_origin;
                "~^OPTIONS (POST|DELETE)$" $progimage_write_origin;
            }
            # An answer whose Access-Control-Allow-Origin repeats the request's Origin says so
            # to caches (the Fetch standard's `Vary: Origin`); a `*` varies on nothing.
            map "$request_method $http_access_control_request_method" $progimage_vary_origin {
            \(varyOrigin)
            }
            # A write a browser sends from an origin not allowed to write is refused, not only
            # left unreadable: a form's POST needs no preflight. Clients that are not browsers
            # send no Origin. Any origin not allowed, blanks inside too (`https://evil.example
            # https://good.example` had passed, as no one word).
            map "$request_method $http_origin $progimage_write_origin" $progimage_refused_write {
                default 0;
                "~^(POST|DELETE) .+ $" 1;
            }
            map $request_method $progimage_preflight_methods {
                default "";
                OPTIONS "\(preflightMethods)";
            }
            map $request_method $progimage_preflight_headers {
                default "";
                OPTIONS "\(preflightHeaders)";
            }
            map $request_method $progimage_preflight_max_age {
                default "";
                OPTIONS "\(preflightMaxAge)";
            }
            \(NginxErrorPage.maps)

            \(metricsTop)# Which instance makes a derived file: the URL's last pixel operation, else convert.
            map $uri $progimage_role {
                default convert;
            \(roleMap)
            }

            server {
                listen \(p.listen);
                server_name _;
                server_tokens off;
                charset off;
                # A file not changed since the date sent is a 304 (RFC 9110 §13.1.3); nginx's
                # default answered 304 only to the exact Last-Modified.
                if_modified_since before;
                root /nonexistent;
                client_max_body_size \(p.maxBodyBytes);
                client_body_buffer_size 1m;
                # Request time limits: a slow client cannot hold a worker connection forever.
                client_header_timeout 15s;
                client_body_timeout 30s;
                send_timeout 60s;
                fastcgi_connect_timeout 5s;
                fastcgi_send_timeout \(NginxConfiguration.workerReadTimeoutSeconds)s;
                fastcgi_read_timeout \(NginxConfiguration.workerReadTimeoutSeconds)s;
                fastcgi_buffer_size 32k;
                fastcgi_buffers 64 64k;
                # Bodies from a worker (JSON, and an image answered from memory when the
                # cache has no room) pass straight through: buffered, nginx's graceful stop
                # (SIGQUIT) exited mid-answer whenever a response waited in its pipe with no
                # timer left, and the client had a 200 cut after the first buffer (a
                # black-box tester: 3 of 3 stops during two cold misses with a budget of 0;
                # 9 of 9 whole unbuffered). A file's answer has no body here (X-Accel-
                # Redirect). A slow client of a body over the sockets' few hundred KB holds
                # its worker's thread until it has read it.
                fastcgi_buffering off;
                fastcgi_intercept_errors off;
                # What the workers read; self-contained so no distribution file is needed.
                fastcgi_param REQUEST_METHOD $request_method;
                fastcgi_param DOCUMENT_URI $uri;
                fastcgi_param REQUEST_URI $request_uri;
                fastcgi_param QUERY_STRING $query_string;
                fastcgi_param CONTENT_TYPE $content_type;
                fastcgi_param CONTENT_LENGTH $content_length;
                fastcgi_param SERVER_PROTOCOL $server_protocol;
                fastcgi_param REMOTE_ADDR $remote_addr;
                # When nginx handed the request on (seconds, ms): the worker's clock for
                # the read timeout, which a request spends partly queued for a worker.
                fastcgi_param NGINX_SENT_AT $msec;

                \(errorPages)\(metricsLog)

                # Every answer that has no headers of its own below gets these (instances'
                # answers, redirects, health); a preflight is answered here, for any path.
                if ($request_method = OPTIONS) {
                    return 204;
                }
            \(corsHeaders.map { "        " + $0 }.joined(separator: "\n"))

                # A transform: /images/{id}/{op}/….{ext}. One candidate: served as a static
                # file, its 404 is the miss (see NginxSiteTemplate.swift for why not try_files).
                # First of the regular expressions: it is the hot path, and no URL matches
                # both it and the next one (a transform has a slash after the id).
                location ~ "^/images/\(transformFile)$" {
            \(disk)
                    alias \(p.cacheDirectory)/$pi_s1/$pi_s2/$pi_file;
                    open_file_cache max=128 inactive=5s;
                    open_file_cache_valid 0s;
                    open_file_cache_errors on;
                    log_not_found off;
                    error_page 404 = @miss;
            \(transformErrorPages)
                    # So that @miss's own errors (502, 504) still get the JSON pages.
                    recursive_error_pages on;
                }
            \(refusedTransforms)
                # An original (its own extension) or a plain conversion: two candidates.
                location ~ "^/images/\(id)\\.(?<pi_ext>\(extensions))$" {
            \(disk)
                    root /;
                    try_files \(p.dataDirectory)/originals/$pi_s1/$pi_s2/\(idVar).$pi_ext
                              \(p.cacheDirectory)/$pi_s1/$pi_s2/\(idVar)/\(idVar).$pi_ext
                              @miss;
                }

                # Non-canonical extensions: 301 to the canonical one, query kept.
                \(aliasLocation)

                # The contract, machine-readable.
                location = /openapi.yaml {
                    fastcgi_pass progimage_api;
                }

                # `.auto`: a 302 to the format the browser's Accept asks for, from the api
                # instance (it knows whether the image has alpha).
                location ~ "^/images/[A-Za-z0-9_-]{16,64}(?:/.+)?\\.auto$" {
                    fastcgi_pass progimage_api;
                }

                # Upload, list, metadata, delete.
                location ~ "^/images/?$|^/images/[A-Za-z0-9_-]{16,64}$" {
                    if ($progimage_refused_write) {
                        return 403;
                    }
                    fastcgi_pass progimage_api;
                }

                # A health check answers at once unless the instance is hung or every one of
                # its threads is busy: 504 after 10 s, not after the 300 s a slow miss may
                # take (a stopped instance held its /health for five minutes). The api's
                # checks the database and the object store, each within its own bound.
                location = /health/api {
                    fastcgi_read_timeout 60s;
                    fastcgi_pass progimage_api;
                }
                location ~ "^/health/(?<pi_role>\(roleNames))$" {
                    fastcgi_read_timeout 10s;
                    fastcgi_pass progimage_$pi_role;
                }

                # A miss's answer: the instance wrote the file and names it
                # (`X-Accel-Redirect`), and nginx serves it as it will serve the HIT, with
                # the same ETag, Last-Modified and Range support.
                location ^~ /_progimage/made/ {
                    internal;
            \(fresh)
                    alias \(p.cacheDirectory)/;
                }
                location ^~ /_progimage/original/ {
                    internal;
            \(fetchedOriginal)
                    alias \(p.dataDirectory)/originals/;
                }

                # Only reads make derived files; the answer for other methods is the same
                # 405 the static handler gives when the file exists.
                location @miss {
                    if ($request_method !~ ^(GET|HEAD)$) {
                        return 405;
                    }
                    fastcgi_pass progimage_$progimage_role;
                }

                location / {
                    return 404;
                }

            \(errorLocations)
            }
            \(metricsServer)
            """
    }
}

extension NginxSiteTemplate {
    /// With metrics on: one word per answered image (`HIT`, `MISS`, or `-` for anything
    /// else) logged to a file the api instance counts, buffered so a hit costs nginx no
    /// write of its own; and a loopback-only listener whose `/metrics` reaches the api
    /// instance with a parameter no client can set.
    static func metricsParts(_ metrics: (port: Int, cacheLog: String)?) -> (String, String, String) {
        guard let metrics else { return ("", "", "") }
        let top = """
            # Metrics: each image answer's cache result, counted by the api instance.
            log_format progimage_cache '$sent_http_x_progimage_cache';


            """
        let log = "\n    access_log \(metrics.cacheLog) progimage_cache buffer=16k flush=1s;"
        let server = """

            # Prometheus, on loopback only (PROGIMAGE_METRICS_PORT).
            server {
                listen 127.0.0.1:\(metrics.port);
                server_tokens off;
                access_log off;
                location = /metrics {
                    fastcgi_pass progimage_api;
                    fastcgi_param REQUEST_METHOD $request_method;
                    fastcgi_param DOCUMENT_URI /_progimage/metrics;
                    fastcgi_param QUERY_STRING "";
                    fastcgi_param METRICS_SCRAPE 1;
                    # A stopped or hung api: the scrape ends before Prometheus's own 10 s
                    # timeout, as JSON (nginx's HTML 502, or a 504 after 60 s).
                    fastcgi_connect_timeout 5s;
                    fastcgi_send_timeout 8s;
                    fastcgi_read_timeout 8s;
                    error_page 502 503 @progimage_metrics_unavailable;
                    error_page 504 @progimage_metrics_timeout;
                }
                location @progimage_metrics_unavailable {
                    default_type application/json;
                    add_header Cache-Control no-store always;
                    return 503 '{"error":{"code":"instance_unavailable","message":"no api instance answered the scrape"}}\n';
                }
                location @progimage_metrics_timeout {
                    default_type application/json;
                    add_header Cache-Control no-store always;
                    return 504 '{"error":{"code":"timeout","message":"the api instance did not answer the scrape within 8 s"}}\n';
                }
                # Every error JSON, as on the public port (nginx's own page was HTML).
                location / {
                    default_type application/json;
                    return 404 '{"error":{"code":"not_found","message":"only /metrics is served here"}}\n';
                }
            }

            """
        return (top, log, server)
    }

    /// The CORS headers of every answer (`always`: errors too).
    /// The request headers a preflight allows, for a box's preflights and the front's.
    static let preflightHeaders = "Authorization, Content-Type, Content-Disposition, If-None-Match, If-Modified-Since, Range"
    static let preflightMethods = "GET, HEAD, POST, DELETE, OPTIONS"
    static let preflightMaxAge = "86400"

    static let corsHeaders = [
        "add_header Access-Control-Allow-Origin $progimage_allow_origin always;",
        "add_header Vary $progimage_vary_origin always;",
        "add_header Access-Control-Expose-Headers \"ETag, X-Cache, X-Progimage-Cache, Location\" always;",
        "add_header Access-Control-Allow-Methods $progimage_preflight_methods always;",
        "add_header Access-Control-Allow-Headers $progimage_preflight_headers always;",
        "add_header Access-Control-Max-Age $progimage_preflight_max_age always;",
    ]

    /// The headers of an image served from disk, a HIT or (through `X-Accel-Redirect`) the
    /// MISS that just made it: the contract's content types and caching, readable by any
    /// origin. No method check here: the static handler answers any method but GET and HEAD
    /// on a file with 405 itself, and `@miss` checks before an instance is asked; an `if` in
    /// these locations cost every hit ~1% of nginx's CPU.
    static func diskHeaders(types: String, cache: String) -> String {
        """
                types {
            \(types)
                }
                add_header Cache-Control "public, max-age=31536000, immutable";
                add_header X-Content-Type-Options nosniff;
                add_header Access-Control-Allow-Origin *;
                add_header Access-Control-Expose-Headers "ETag, X-Cache, X-Progimage-Cache, Location";
                add_header Timing-Allow-Origin *;
                add_header X-Cache \(cache);
                add_header X-Progimage-Cache \(cache);
            """
    }
}

/// An error nginx answers itself, as the contract's JSON.
struct NginxErrorPage {
    /// nginx's own code for it, as `error_page` names it.
    let status: Int
    /// The contract's word, from the one list of them; `status` may differ from the
    /// code's own (411, 414, 501 and 505 are `bad_request` too).
    let code: ErrorCode
    let message: String
    /// The status the client sees: nginx's 494 (headers too large) is a 400.
    var answered: Int { status == 494 ? 400 : status }

    /// The variables the error locations use, for the `http` level of a site.
    static var maps: String {
        let extensions = (ImageFormat.allCases.map(\.rawValue) + ImageFormat.aliases.keys.sorted() + ["auto"])
            .joined(separator: "|")
        let roles = TransformRole.all.map(\.rawValue).joined(separator: "|")
        return """
        # What a path allows, for the 405 nginx answers itself (TRACE, CONNECT, or a write to
        # a file): the collection takes POST, an image's metadata DELETE, images, health and
        # the contract reads. Any other path allows nothing, and its 405 is the 404 every
        # other method gets there. The request line as sent, so slashes are not merged yet.
        map $request_uri $progimage_allowed_methods {
            default "";
            "~^/+images/*(?:\\?|$)" "GET, HEAD, POST, OPTIONS";
            "~^/+images/+[A-Za-z0-9_-]{16,64}(?:\\?|$)" "GET, HEAD, DELETE, OPTIONS";
            "~^/+images/+[A-Za-z0-9_-]{16,64}(?:/[^?]+)?\\.(?:\(extensions))(?:\\?|$)" "GET, HEAD, OPTIONS";
            "~^/+health/+(?:\(roles))(?:\\?|$)" "GET, HEAD, OPTIONS";
            "~^/+openapi\\.yaml(?:\\?|$)" "GET, HEAD, OPTIONS";
        }
        # Errors that depend on the URL alone are as permanent as the URL: a GET may cache them.
        # Read from the request line: the error pages are reached by an internal redirect to a
        # URI, for which nginx turns every method but HEAD into GET, so $request_method there
        # says GET for a DELETE too.
        map $request $progimage_url_error_cache {
            default "no-store";
            "~^(?:GET|HEAD) " "public, max-age=86400";
        }
        """
    }

    init(status: Int, code: ErrorCode, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    static let all: [NginxErrorPage] = [
        NginxErrorPage(status: 400, code: .badRequest, message: "the request is malformed"),
        NginxErrorPage(status: 403, code: .forbidden, message: "access denied"),
        NginxErrorPage(status: 404, code: .notFound, message: "no such resource"),
        NginxErrorPage(status: 405, code: .methodNotAllowed, message: "method not allowed for this resource"),
        NginxErrorPage(status: 408, code: .timeout, message: "the request took too long to arrive"),
        NginxErrorPage(status: 411, code: .badRequest, message: "a request body needs a length"),
        NginxErrorPage(status: 412, code: .preconditionFailed, message: "the file does not meet the If-Match or If-Unmodified-Since sent"),
        NginxErrorPage(status: 413, code: .payloadTooLarge, message: "the request body exceeds the upload limit"),
        NginxErrorPage(status: 414, code: .badRequest, message: "the URL is too long"),
        NginxErrorPage(status: 416, code: .rangeNotSatisfiable, message: "the requested range is not within the file"),
        NginxErrorPage(status: 494, code: .badRequest, message: "the request headers are too large"),
        NginxErrorPage(status: 500, code: .internalError, message: "internal error"),
        NginxErrorPage(status: 501, code: .badRequest, message: "the request transfer encoding is not supported"),
        NginxErrorPage(status: 502, code: .instanceUnavailable, message: "no instance of the needed type is answering"),
        NginxErrorPage(status: 503, code: .instanceUnavailable, message: "no instance of the needed type is answering"),
        NginxErrorPage(status: 504, code: .timeout, message: "the instance took too long to answer"),
        NginxErrorPage(status: 505, code: .badRequest, message: "the HTTP version is not supported"),
    ]

    /// A URI, not a named location: for a request line nginx cannot parse (`/../..`) it
    /// has no URI of its own and a redirect to a named location fails with a 500.
    /// The 405's and the 400's pages may answer 404 instead (an unknown path, a NUL in a
    /// path), so their own statuses stand (`=`); every other page answers the status that
    /// sent the request there.
    var directive: String { directive(preflightWithoutUpstream: false) }

    /// As `directive`; with `preflightWithoutUpstream` (the front door), the pages for no
    /// box answering may answer a preflight's 204 instead, so their statuses stand too.
    func directive(preflightWithoutUpstream: Bool) -> String {
        let ownStatus = [400, 405].contains(status) || (preflightWithoutUpstream && Self.noUpstream.contains(status))
        return "error_page \(status) \(ownStatus ? "= " : "")/_progimage/error/\(status);"
    }

    /// A box's preflight answered from an error page, the preflight's headers spelled out
    /// (the maps go by the method, which the redirect to the page made GET).
    static let boxPreflight = [
        "add_header Access-Control-Allow-Origin $progimage_allow_origin always;", "add_header Vary $progimage_vary_origin always;",
        "add_header Access-Control-Allow-Methods \"\(NginxSiteTemplate.preflightMethods)\" always;",
        "add_header Access-Control-Allow-Headers \"\(NginxSiteTemplate.preflightHeaders)\" always;",
        "add_header Access-Control-Max-Age \(NginxSiteTemplate.preflightMaxAge) always;",
        "add_header Access-Control-Expose-Headers \"ETag, X-Cache, X-Progimage-Cache, Location\" always;", "return 204;",
    ]

    /// The front door's own preflight: reads only (which origins may write is each box's to
    /// say), for a minute.
    static let frontPreflight = [
        "add_header Access-Control-Allow-Origin * always;", "add_header Access-Control-Allow-Methods \"GET, HEAD, OPTIONS\" always;",
        "add_header Access-Control-Allow-Headers \"\(NginxSiteTemplate.preflightHeaders)\" always;",
        "add_header Access-Control-Max-Age 60 always;",
        "add_header Access-Control-Expose-Headers \"ETag, X-Cache, X-Progimage-Cache, Location\" always;",
        "add_header Cache-Control no-store always;", "return 204;",
    ]

    /// A request line's path that nginx refuses before any location: an encoded NUL, or a
    /// `..` that climbs above the root in any spelling (as a regular expression).
    static let refusedPath = "[^? ]*(?:%00|(?:/|%2[Ff])(?:\\.|%2[Ee]){2}(?:[/? ]|%2[Ff]))"

    /// The statuses nginx answers when no upstream did.
    static let noUpstream = [502, 503, 504]

    /// A `404` from nginx (no such id, no such path) is an answer about the URL alone and
    /// may be cached by a GET; every other error nginx makes is about this request.
    ///
    /// `preflightWithoutUpstream`: the front door's pages for no box answering (502, 503,
    /// 504) answer a preflight themselves, as API.md wants of every `OPTIONS` ("204 from
    /// nginx"); a box answers its own, so the front has one only when none is there. It
    /// allows reads only: a write has nowhere to go, and which origins may write is each
    /// box's to say.
    func location(cors: [String], preflightWithoutUpstream: Bool = false) -> String {
        var lines = [
            "    location = /_progimage/error/\(status) {", "        internal;", "        types { }",
            "        default_type application/json;",
        ]
        let notFound = #"{"error":{"code":"not_found","message":"no such resource"}}"#
        if status == 405 {
            // nginx refuses TRACE and CONNECT before it looks for a location: on a path that
            // does not exist that is the 404 any other method gets (API.md: an unknown path).
            lines += [
                "        add_header Allow $progimage_allowed_methods always;",
                "        if ($progimage_allowed_methods = \"\") {", "            return 404 '\(notFound)\\n';", "        }",
            ]
        }
        if status == 400 {
            // nginx refuses, before any location, an encoded NUL (`%00`) anywhere in a path
            // and a `..` segment that climbs above the root in any spelling
            // (`/images/..%2F..%2Fetc`): no id, extension or path holds either, so the
            // answer is the URL's 404 (API.md: anything else in an id position), not a
            // malformed request. (A `..` that stays below the root is resolved by nginx and
            // never comes here.) From the request line: nginx sets $request_uri only once
            // the path has parsed.
            // A preflight there is the 204 a preflight gets on any path (API.md), with the
            // preflight's headers spelled out: the redirect to this page made the method GET,
            // which the maps go by (it was this page's 404; a black-box tester).
            lines += [
                "        if ($request ~ \"^OPTIONS \(Self.refusedPath)\") {"
            ] + (preflightWithoutUpstream ? Self.frontPreflight : Self.boxPreflight).map { "            " + $0 } + ["        }"]
            lines += [
                "        if ($request ~ \"^\\S+ \(Self.refusedPath)\") {",
                "            add_header Cache-Control $progimage_url_error_cache always;",
            ] + cors.map { "            " + $0 } + [
                "            return 404 '\(notFound)\\n';", "        }",
            ]
        }
        if preflightWithoutUpstream, Self.noUpstream.contains(status) {
            // From the request line: the redirect to this page made the method GET.
            lines += ["        if ($request ~ \"^OPTIONS \") {"] + Self.frontPreflight.map { "            " + $0 } + ["        }"]
        }
        let cacheControl = status == 404 ? "$progimage_url_error_cache" : "no-store"
        lines.append("        add_header Cache-Control \(cacheControl) always;")
        // A 416 only ever comes from an image location, whose CORS headers were added before
        // nginx checked the range; twice, `Access-Control-Allow-Origin: *, *` fails in a browser.
        if status != 416 { lines += cors.map { "        " + $0 } }
        let body = "{\"error\":{\"code\":\"\(code.rawValue)\",\"message\":\"\(message)\"}}"
        lines.append("        return \(answered) '\(body)\\n';")
        lines.append("    }")
        return lines.joined(separator: "\n")
    }
}
