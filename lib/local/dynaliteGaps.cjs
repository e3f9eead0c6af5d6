'use strict';
/**
 * What DynamoDB does and dynalite 4 does not, that this code relies on: the
 * item in a ConditionalCheckFailedException when the write asks for it with
 * ReturnValuesOnConditionCheckFailure: ALL_OLD (DynamoDB since 2023, DynamoDB
 * Local too). It is how a write recognises its own earlier try (see
 * guardedWrite in lib/store/dynamo.ts). dynalite drops request fields it does
 * not know, so the field is declared for the three writes that take it, and
 * the item the condition was checked against goes into the error's body, in
 * the wire format DynamoDB uses. Loaded wherever dynalite runs: npm start's
 * emulators and the tests' servers.
 */
let patched = false;

function fillDynaliteGaps() {
  if (patched) return;
  patched = true;
  for (const action of ['putItem', 'updateItem', 'deleteItem']) {
    require(`dynalite/validations/${action}`).types.ReturnValuesOnConditionCheckFailure = { type: 'String', enum: ['ALL_OLD', 'NONE'] };
  }
  const db = require('dynalite/db');
  const checkConditional = db.checkConditional;
  db.checkConditional = function (data, existingItem) {
    const error = checkConditional.call(this, data, existingItem);
    if (error && existingItem && data.ReturnValuesOnConditionCheckFailure === 'ALL_OLD') error.body.Item = existingItem;
    return error;
  };
}

module.exports = { fillDynaliteGaps };
