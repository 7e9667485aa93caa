// The Service Bus namespace with the topics, subscriptions and queues the actors need (from
// `beehive topology --format bicep`), and the roles of the two identities on it. Local (SAS)
// authentication is disabled: every client authenticates with Entra ID.

@description('Azure region.')
param location string

@description('Namespace name (globally unique).')
param namespaceName string

@description('Standard, or Premium for isolation, larger messages and zone redundancy.')
@allowed([
  'Standard'
  'Premium'
])
param sku string = 'Standard'

@description('Messaging units when the SKU is Premium.')
@allowed([
  1
  2
  4
  8
  16
])
param premiumCapacity int = 1

@description('Topic names.')
param topics array

@description('Subscriptions: topic, name, maxDeliveryCount, lockDuration, requiresSession.')
param subscriptions array

@description('Plain queues: name, maxDeliveryCount, lockDuration, requiresSession.')
param queues array

@description('Principal the actor host runs as: sends and receives.')
param appPrincipalId string

@description('Principal the KEDA scaler reads message counts with (needs Manage).')
param scalerPrincipalId string

@description('Tags put on every resource.')
param tags object = {}

var roles = {
  dataOwner: '090c5cfd-751d-490a-894a-3ce6f1109419' // Azure Service Bus Data Owner
  dataReceiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0' // Azure Service Bus Data Receiver
  dataSender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39' // Azure Service Bus Data Sender
}

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
  name: namespaceName
  location: location
  tags: tags
  sku: {
    name: sku
    tier: sku
    capacity: sku == 'Premium' ? premiumCapacity : null
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    zoneRedundant: sku == 'Premium'
  }
}

resource topicResources 'Microsoft.ServiceBus/namespaces/topics@2024-01-01' = [
  for topic in topics: {
    parent: namespace
    name: topic
    properties: {
      enableBatchedOperations: true
    }
  }
]

resource subscriptionResources 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2024-01-01' = [
  for subscription in subscriptions: {
    name: '${namespace.name}/${subscription.topic}/${subscription.name}'
    properties: {
      maxDeliveryCount: subscription.maxDeliveryCount
      lockDuration: subscription.lockDuration
      requiresSession: subscription.requiresSession
      deadLetteringOnMessageExpiration: true
      enableBatchedOperations: true
    }
    dependsOn: [
      topicResources
    ]
  }
]

// Dead-letter replay goes to the topic addressed to one subscription (beehive.replay_to); every
// subscription's $Default rule lets through what is addressed to nobody, or to itself.
resource replayRules 'Microsoft.ServiceBus/namespaces/topics/subscriptions/rules@2024-01-01' = [
  for (subscription, i) in subscriptions: {
    parent: subscriptionResources[i]
    name: '$Default'
    properties: {
      filterType: 'SqlFilter'
      sqlFilter: {
        sqlExpression: 'NOT EXISTS([beehive.replay_to]) OR [beehive.replay_to] = \'${subscription.name}\''
      }
    }
  }
]

resource queueResources 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = [
  for queue in queues: {
    parent: namespace
    name: queue.name
    properties: {
      maxDeliveryCount: queue.maxDeliveryCount
      lockDuration: queue.lockDuration
      requiresSession: queue.requiresSession
      deadLetteringOnMessageExpiration: true
      enableBatchedOperations: true
    }
  }
]

resource appSends 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(namespace.id, appPrincipalId, roles.dataSender)
  scope: namespace
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.dataSender)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appReceives 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(namespace.id, appPrincipalId, roles.dataReceiver)
  scope: namespace
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.dataReceiver)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource scalerReads 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(namespace.id, scalerPrincipalId, roles.dataOwner)
  scope: namespace
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.dataOwner)
    principalId: scalerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output name string = namespace.name
output fqdn string = '${namespace.name}.servicebus.windows.net'
output endpoint string = namespace.properties.serviceBusEndpoint
