public import ObjectStorage
public import ProgimageDeployment

extension S3Configuration {
    /// The S3 client's configuration for the bucket `PROGIMAGE_S3_*` named.
    public init(_ settings: ObjectStoreSettings) {
        self.init(
            endpoint: settings.endpoint, bucket: settings.bucket, region: settings.region,
            accessKeyID: settings.accessKeyID, secretAccessKey: settings.secretAccessKey,
            timeoutSeconds: settings.timeoutSeconds)
    }
}
