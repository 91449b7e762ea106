package gridgate.bench;

import at.grahsl.kafka.connect.mongodb.converter.SinkDocument;
import at.grahsl.kafka.connect.mongodb.writemodel.strategy.WriteModelStrategy;
import com.mongodb.client.model.InsertOneModel;
import com.mongodb.client.model.WriteModel;
import org.apache.kafka.connect.errors.DataException;
import org.bson.BsonDocument;

/**
 * A plain insert per record, for mongodb.writemodel.strategy. The connector ships only
 * replace/update models that upsert by _id; on a store that answers each upsert with a
 * collection scan (FerretDB on SQLite) that makes a load quadratic, while an insert stays
 * linear. The official connector later shipped the same model (InsertOneDefaultStrategy).
 */
public final class InsertOneStrategy implements WriteModelStrategy {
    @Override
    public WriteModel<BsonDocument> createWriteModel(SinkDocument document) {
        BsonDocument value = document.getValueDoc().orElseThrow(
                () -> new DataException("a record without a value cannot be inserted"));
        return new InsertOneModel<>(value);
    }
}
