// Generated from docs/openapi.yaml by `make openapi`; do not edit by hand.
/// The OpenAPI document, served at `/openapi.yaml` by the api instance.
enum OpenAPIDocument {
    static let yaml = #"""
openapi: 3.1.0
info:
  title: progimage
  version: "1.0"
  summary: Upload an image once, then ask for it in any format and size by URL.
  description: |
    Every answer is readable from any origin (CORS); every error is JSON
    `{"error": {"code", "message"}}` with a stable `code`. Served by the service at
    `/openapi.yaml`. Image URLs are described as far as OpenAPI can: a transform is a chain of
    `/`-separated operations (`/images/{id}/crop:0,0,800,800/resize:200x200.webp`); the
    document names one operation per URL, the README's operation table has the grammar.
    An animated GIF or WebP stays animated in gif and webp outputs (every operation on every
    frame, durations and loop count kept); every other output is its first frame.
servers:
  - url: http://127.0.0.1:8080
security:
  - {}
  - bearerAuth: []
tags:
  - name: images
  - name: delivery
  - name: operations
paths:
  /images:
    post:
      tags: [images]
      operationId: uploadImages
      summary: Upload one image (raw body), several (multipart, all or nothing), or a link to fetch.
      description: |
        With `PROGIMAGE_API_KEY` set a write needs `Authorization: Bearer <key>`, unless the
        URL is a signed upload URL (`expires`, optional `max_bytes`, then `sig`: base64url of
        HMAC-SHA256(signing key, `POST /images?` + the query before `&sig=`)).
      security:
        - {}
        - bearerAuth: []
      parameters:
        - name: expires
          in: query
          description: Signed upload URL, unix seconds after which it is refused.
          schema: {type: integer, minimum: 1}
        - name: max_bytes
          in: query
          description: Signed upload URL, the largest accepted request body.
          schema: {type: integer, minimum: 1}
        - name: sig
          in: query
          description: Signed upload URL, the signature.
          schema: {type: string, pattern: "^[A-Za-z0-9_-]+$"}
        - name: Content-Disposition
          in: header
          description: The original filename of a raw upload (`attachment; filename="cat.jpg"`).
          schema: {type: string}
      requestBody:
        required: true
        content:
          application/octet-stream:
            schema: {type: string, contentMediaType: application/octet-stream}
          image/*:
            schema: {type: string, contentMediaType: image/*}
          multipart/form-data:
            schema:
              type: object
              properties:
                file:
                  type: array
                  items: {type: string, contentMediaType: application/octet-stream}
                url:
                  type: string
          application/json:
            schema:
              type: object
              required: [url]
              properties:
                url: {type: string, description: "http(s) URL the service fetches the image from"}
      responses:
        "201":
          description: 'Stored. One image: its object; several: `{"images": [...]}` in request order.'
          headers:
            Location:
              description: The image's metadata path, for a single image.
              schema: {type: string}
          links:
            GetImage:
              operationId: getImage
              parameters: {id: "$response.body#/id"}
            GetOriginal:
              operationId: getConversion
              parameters: {id: "$response.body#/id", format: "$response.body#/format"}
            DeleteImage:
              operationId: deleteImage
              parameters: {id: "$response.body#/id"}
          content:
            application/json:
              schema:
                oneOf:
                  - $ref: "#/components/schemas/Image"
                  - $ref: "#/components/schemas/ImageBatch"
        "400": {$ref: "#/components/responses/Error"}
        "401": {$ref: "#/components/responses/Unauthorized"}
        "403": {$ref: "#/components/responses/Error"}
        "408": {$ref: "#/components/responses/Error"}
        "411": {$ref: "#/components/responses/Error"}
        "413": {$ref: "#/components/responses/Error"}
        "415": {$ref: "#/components/responses/Error"}
        "422": {$ref: "#/components/responses/Error"}
        "405": {$ref: "#/components/responses/MethodNotAllowed"}
        "500": {$ref: "#/components/responses/Error"}
        "503": {$ref: "#/components/responses/Error"}
        "507": {$ref: "#/components/responses/Error"}
        "502": {$ref: "#/components/responses/Error"}
        "504": {$ref: "#/components/responses/Error"}
    get:
      tags: [images]
      operationId: listImages
      summary: Images, newest first, one page at a time.
      parameters:
        - name: limit
          in: query
          schema: {type: integer, minimum: 1, maximum: 1000, default: 50}
        - name: cursor
          in: query
          description: The previous page's `next_cursor`.
          schema: {type: string, pattern: "^[A-Za-z0-9_-]+$"}
      responses:
        "200":
          description: A page.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/ImagePage"}
        "400": {$ref: "#/components/responses/Error"}
        "405": {$ref: "#/components/responses/MethodNotAllowed"}
        "500": {$ref: "#/components/responses/Error"}
        "503": {$ref: "#/components/responses/Error"}
        "502": {$ref: "#/components/responses/Error"}
        "504": {$ref: "#/components/responses/Error"}
  /images/{id}:
    parameters:
      - $ref: "#/components/parameters/ImageID"
    get:
      tags: [images]
      operationId: getImage
      summary: An image's metadata.
      responses:
        "200":
          description: The image object.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Image"}
        "404": {$ref: "#/components/responses/Error"}
        "405": {$ref: "#/components/responses/MethodNotAllowed"}
        "500": {$ref: "#/components/responses/Error"}
        "503": {$ref: "#/components/responses/Error"}
        "502": {$ref: "#/components/responses/Error"}
        "504": {$ref: "#/components/responses/Error"}
    delete:
      tags: [images]
      operationId: deleteImage
      summary: Deletes the image; every URL of it then answers 404.
      security:
        - {}
        - bearerAuth: []
      responses:
        "204": {description: Deleted.}
        "401": {$ref: "#/components/responses/Unauthorized"}
        "404": {$ref: "#/components/responses/Error"}
        "405": {$ref: "#/components/responses/MethodNotAllowed"}
        "500": {$ref: "#/components/responses/Error"}
        "503": {$ref: "#/components/responses/Error"}
        "403": {$ref: "#/components/responses/Error"}
        "502": {$ref: "#/components/responses/Error"}
        "504": {$ref: "#/components/responses/Error"}
        "507": {$ref: "#/components/responses/Error"}
  /images/{id}.{format}:
    parameters:
      - $ref: "#/components/parameters/ImageID"
      - $ref: "#/components/parameters/Format"
      - $ref: "#/components/parameters/Signature"
    get:
      tags: [delivery]
      operationId: getConversion
      summary: The original (its own format, bit for bit) or a conversion by extension.
      responses:
        "200": {$ref: "#/components/responses/ImageBytes"}
        "206": {$ref: "#/components/responses/ImageBytes"}
        "301": {$ref: "#/components/responses/Redirect"}
        "304": {description: Not modified (If-None-Match).}
        "400": {$ref: "#/components/responses/Error"}
        "403": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "405": {$ref: "#/components/responses/MethodNotAllowed"}
        "412": {$ref: "#/components/responses/Error"}
        "416": {$ref: "#/components/responses/Error"}
        "422": {$ref: "#/components/responses/Error"}
        "500": {$ref: "#/components/responses/Error"}
        "502": {$ref: "#/components/responses/Error"}
        "503": {$ref: "#/components/responses/Error"}
        "504": {$ref: "#/components/responses/Error"}
  /images/{id}.auto:
    parameters:
      - $ref: "#/components/parameters/ImageID"
      - $ref: "#/components/parameters/Signature"
    get:
      tags: [delivery]
      operationId: getAutoFormat
      summary: A 302 to the format the request's Accept asks for (avif, webp, png with alpha, else jpg).
      responses:
        "302": {$ref: "#/components/responses/AutoRedirect"}
        "400": {$ref: "#/components/responses/Error"}
        "403": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "405": {$ref: "#/components/responses/MethodNotAllowed"}
        "500": {$ref: "#/components/responses/Error"}
        "503": {$ref: "#/components/responses/Error"}
        "502": {$ref: "#/components/responses/Error"}
        "504": {$ref: "#/components/responses/Error"}
  /images/{id}/{operation}.{format}:
    parameters:
      - $ref: "#/components/parameters/ImageID"
      - name: operation
        in: path
        required: true
        description: |
          One operation (a URL may chain up to 8, `/`-separated): `resize:{W}x{H}[,fill[,{gravity}]|,force|,pad[,{colour}]]`,
          `crop:{x},{y},{w},{h}`, `rotate:{deg}`, `flip:h|v|hv`, `grayscale`, `blur:{sigma}`,
          `sharpen:{amount}`, `pad:{t},{r},{b},{l}[,{colour}]`, `overlay:{id}[,{gravity}[,{opacity}]]`, `preset:{name}` (PROGIMAGE_PRESETS),
          and `quality:{q}` last. A valid non-canonical spelling answers 301.
        schema: {type: string, pattern: "^[a-z]+(:[0-9a-zA-Z.,x_-]*)?$"}
      - $ref: "#/components/parameters/Format"
      - $ref: "#/components/parameters/Signature"
    get:
      tags: [delivery]
      operationId: getTransform
      summary: A transform of the image.
      responses:
        "200": {$ref: "#/components/responses/ImageBytes"}
        "206": {$ref: "#/components/responses/ImageBytes"}
        "301": {$ref: "#/components/responses/Redirect"}
        "304": {description: Not modified (If-None-Match).}
        "400": {$ref: "#/components/responses/Error"}
        "403": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "405": {$ref: "#/components/responses/MethodNotAllowed"}
        "412": {$ref: "#/components/responses/Error"}
        "416": {$ref: "#/components/responses/Error"}
        "422": {$ref: "#/components/responses/Error"}
        "500": {$ref: "#/components/responses/Error"}
        "502": {$ref: "#/components/responses/Error"}
        "503": {$ref: "#/components/responses/Error"}
        "504": {$ref: "#/components/responses/Error"}
  /images/{id}/{operation}.auto:
    parameters:
      - $ref: "#/components/parameters/ImageID"
      - name: operation
        in: path
        required: true
        description: The operations of a transform, as for `/images/{id}/{operation}.{format}`.
        schema: {type: string, pattern: "^[a-z]+(:[0-9a-zA-Z.,x_-]*)?$"}
      - $ref: "#/components/parameters/Signature"
    get:
      tags: [delivery]
      operationId: getAutoFormatTransform
      summary: A 302 to the transform in the format the request's Accept asks for, as `/images/{id}.auto`; a valid non-canonical spelling answers 301 to its canonical `.auto` URL first.
      responses:
        "301": {$ref: "#/components/responses/Redirect"}
        "302": {$ref: "#/components/responses/AutoRedirect"}
        "400": {$ref: "#/components/responses/Error"}
        "403": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "405": {$ref: "#/components/responses/MethodNotAllowed"}
        "503": {$ref: "#/components/responses/Error"}
        "500": {$ref: "#/components/responses/Error"}
        "502": {$ref: "#/components/responses/Error"}
        "504": {$ref: "#/components/responses/Error"}
  /health/{type}:
    parameters:
      - name: type
        in: path
        required: true
        schema:
          type: string
          enum: [api, convert, resize, crop, rotate, flip, grayscale, blur, sharpen, pad, overlay]
    get:
      tags: [operations]
      operationId: getHealth
      summary: Answered by an instance of that type.
      responses:
        "200":
          description: The instance is serving.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Health"}
        "404": {$ref: "#/components/responses/Error"}
        "502": {$ref: "#/components/responses/Error"}
        "405": {$ref: "#/components/responses/MethodNotAllowed"}
        "500": {$ref: "#/components/responses/Error"}
        "503": {$ref: "#/components/responses/Error"}
        "504": {$ref: "#/components/responses/Error"}
  /openapi.yaml:
    get:
      tags: [operations]
      operationId: getOpenAPI
      summary: This document.
      responses:
        "200":
          description: OpenAPI 3.1, YAML.
          content:
            application/yaml:
              schema: {type: string}
components:
  securitySchemes:
    bearerAuth:
      type: http
      scheme: bearer
      description: One of the keys of PROGIMAGE_API_KEY; writes are open when none is set.
  parameters:
    ImageID:
      name: id
      in: path
      required: true
      schema: {type: string, pattern: "^[A-Za-z0-9_-]{16,64}$"}
    Format:
      name: format
      in: path
      required: true
      description: The output format; `jpeg` and `tif` answer 301 to `jpg` and `tiff`.
      schema: {type: string, enum: [jpg, png, gif, webp, bmp, tiff, avif, heic, jxl]}
    Signature:
      name: sig
      in: query
      description: With PROGIMAGE_SIGNING_KEY set, a miss needs base64url(HMAC-SHA256(key, canonical path)).
      schema: {type: string}
  responses:
    Error:
      description: An error, as JSON.
      headers:
        Cache-Control:
          description: "`public, max-age=86400` for a GET's 404, 400 bad_operation and 422 image_too_large; else `no-store`."
          schema: {type: string}
      content:
        application/json:
          schema: {$ref: "#/components/schemas/Error"}
    AutoRedirect:
      description: "The explicit format's URL (query kept; signed when signing is on), with Vary: Accept."
      headers:
        Location: {schema: {type: string}}
        Vary: {schema: {type: string}}
    MethodNotAllowed:
      description: A method the path does not take (`405 method_not_allowed`), as JSON.
      headers:
        Allow:
          description: The methods the path takes, OPTIONS (every path answers a CORS preflight) included.
          schema: {type: string}
        Cache-Control:
          description: "`no-store`."
          schema: {type: string}
      content:
        application/json:
          schema: {$ref: "#/components/schemas/Error"}
    Unauthorized:
      description: A write without a valid key (`401 unauthorized`), as JSON.
      headers:
        WWW-Authenticate:
          description: "`Bearer`: the scheme a key is sent with (RFC 6750; the scheme in any case)."
          schema: {type: string, const: Bearer}
        Cache-Control:
          description: "`no-store`."
          schema: {type: string}
      content:
        application/json:
          schema: {$ref: "#/components/schemas/Error"}
    ImageBytes:
      description: The image (a HIT from disk, or a MISS made now; the same headers either way).
      headers:
        ETag: {schema: {type: string}}
        X-Cache: {schema: {type: string, enum: [HIT, MISS]}}
        X-Progimage-Cache: {schema: {type: string, enum: [HIT, MISS]}}
      content:
        image/*:
          schema: {type: string, contentMediaType: image/*}
    Redirect:
      description: The canonical URL (query kept).
      headers:
        Location: {schema: {type: string}}
  schemas:
    Image:
      type: object
      required: [id, filename, format, content_type, width, height, bytes, sha256, created_at, url, blurhash, frames]
      properties:
        id: {type: string, pattern: "^[A-Za-z0-9_-]{16,64}$"}
        filename: {type: [string, "null"]}
        format: {type: string, enum: [jpg, png, gif, webp, bmp, tiff, avif, heic, jxl]}
        content_type: {type: string}
        width: {type: integer, minimum: 1}
        height: {type: integer, minimum: 1}
        bytes: {type: integer, minimum: 1}
        sha256: {type: string, pattern: "^[0-9a-f]{64}$"}
        created_at: {type: string, format: date-time}
        url: {type: string}
        blurhash: {type: [string, "null"], description: "BlurHash (4×3) of the upright image, for a placeholder"}
        frames: {type: integer, minimum: 1, description: "Frames of an animated GIF, WebP or JPEG XL; 1 for a still image (and for a multi-page TIFF: its pages are not frames)"}
    ImageBatch:
      type: object
      required: [images]
      properties:
        images:
          type: array
          items: {$ref: "#/components/schemas/Image"}
    ImagePage:
      type: object
      required: [images, next_cursor]
      properties:
        images:
          type: array
          items: {$ref: "#/components/schemas/Image"}
        next_cursor: {type: [string, "null"], pattern: "^[A-Za-z0-9_-]+$"}
    Health:
      type: object
      required: [instance, status, pid, uptime_s]
      properties:
        instance: {type: string}
        status: {type: string, enum: [ok]}
        pid: {type: integer}
        uptime_s: {type: number}
        database: {type: string, enum: [ok, unavailable]}
        object_store: {type: string, enum: [ok, unavailable]}
    Error:
      type: object
      required: [error]
      properties:
        error:
          type: object
          required: [code, message]
          properties:
            code:
              type: string
              enum: [bad_request, bad_operation, empty_body, unauthorized, bad_signature, forbidden_url, preset_required, forbidden,
                     not_found, method_not_allowed, misdirected_request, precondition_failed, payload_too_large, range_not_satisfiable,
                     unsupported_media_type, image_too_large, corrupt_image, fetch_failed, internal_error,
                     instance_unavailable, timeout, insufficient_storage, storage_unavailable]
            message: {type: string}
"""#
}
