from rest_framework import serializers


class StrictFieldsMixin:
    """Refuse fields the serializer does not know, instead of silently dropping
    them: a typo in a payload should be an error, not a lost setting."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            # Read-only fields are tolerated so a GET body can be edited and PUT back.
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)
