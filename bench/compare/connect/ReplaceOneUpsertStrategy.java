package gridgate.bench;

import at.grahsl.kafka.connect.mongodb.converter.SinkDocument;
import at.grahsl.kafka.connect.mongodb.writemodel.strategy.WriteModelStrategy;
import com.mongodb.client.model.ReplaceOneModel;
import com.mongodb.client.model.ReplaceOptions;
import com.mongodb.client.model.WriteModel;
import org.apache.kafka.connect.errors.DataException;
import org.bson.BsonDocument;

/**
 * The connector's default write model (ReplaceOneDefaultStrategy: replace the document with the
 * record's _id, inserting it when absent), built with the 4.x driver's ReplaceOptions: the
 * shipped class calls a ReplaceOneModel constructor that the 4.x driver no longer has. Same
 * request on the wire: one replace with upsert per record, filtered by _id.
 */
public final class ReplaceOneUpsertStrategy implements WriteModelStrategy {
    private static final ReplaceOptions UPSERT = new ReplaceOptions().upsert(true);

    @Override
    public WriteModel<BsonDocument> createWriteModel(SinkDocument document) {
        BsonDocument value = document.getValueDoc().orElseThrow(
                () -> new DataException("a record without a value cannot be written"));
        if (!value.containsKey("_id"))
            throw new DataException("the document has no _id to replace by");
        return new ReplaceOneModel<>(new BsonDocument("_id", value.get("_id")), value, UPSERT);
    }
}
