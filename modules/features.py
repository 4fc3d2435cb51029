"""Feature names and per-feature transform choices, shared by transform, model and evaluation."""

# Raw numeric columns that are z-scored; missing values are filled with the column mean.
DENSE_FLOAT_FEATURES = ["trip_miles", "fare", "trip_seconds"]

# Raw integer columns whose values are small categories, used as identities.
CATEGORICAL_INT_FEATURES = {
    "trip_start_hour": 24,
    "trip_start_day": 8,
    "trip_start_month": 13,
    "pickup_community_area": 78,
    "dropoff_community_area": 78,
}

# Coordinates are bucketized into quantiles rather than used raw.
BUCKET_FEATURES = [
    "pickup_latitude",
    "pickup_longitude",
    "dropoff_latitude",
    "dropoff_longitude",
]
BUCKET_COUNT = 10

# String columns mapped through a vocabulary with out-of-vocabulary buckets.
VOCAB_FEATURES = ["payment_type", "company"]
VOCAB_SIZE = 1000
OOV_BUCKETS = 10

# The label is derived from these raw columns; they are absent at serving time.
TIPS_KEY = "tips"
FARE_KEY = "fare"
BIG_TIPPER_FRACTION = 0.2
LABEL_KEY = "big_tipper"

# Columns present in the data that the model deliberately does not read.
UNUSED_FEATURES = ["trip_start_timestamp", "pickup_census_tract", "dropoff_census_tract"]

RAW_LABEL_SOURCES = [TIPS_KEY]


def transformed_name(key: str) -> str:
    return f"{key}_xf"


def model_input_features() -> list:
    """Raw feature names the model consumes, in a stable order."""
    return (
        DENSE_FLOAT_FEATURES
        + list(CATEGORICAL_INT_FEATURES)
        + BUCKET_FEATURES
        + VOCAB_FEATURES
    )
