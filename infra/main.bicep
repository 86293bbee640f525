// ServerlessMeta on Azure: one resource group with a storage account (blobs, queues, tables; no shared
// keys), a user-assigned managed identity with data-plane roles only, a Flex Consumption Function App
// (Linux, .NET 10 isolated), and Application Insights on a Log Analytics workspace.
// Deployed by `azd up` (azure.yaml, main.parameters.json); see docs/operations.md.

targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; names and tags of every resource derive from it.')
param environmentName string

@minLength(1)
@description('Region of every resource; it must offer the Flex Consumption plan.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Resource group name; empty: rg-<environmentName>.')
param resourceGroupName string = ''

@description('Extra tags merged into every resource\'s tags.')
param extraTags object = {}

@description('Optional object id of a developer or group given the same data-plane storage roles as the app. Empty: nobody but the app.')
param developerPrincipalId string = ''

@description('Principal type of developerPrincipalId.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param developerPrincipalType string = 'User'

// Storage.
@description('Replication of the storage account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSkuName string = 'Standard_LRS'

@description('Blob container of models, checkpoints, datasets and run artifacts (SMETA_STORAGE__containerName).')
@minLength(3)
@maxLength(63)
param appContainerName string = 'serverlessmeta'

@description('Table of categories, model versions and counters (SMETA_STORAGE__tableName).')
@minLength(3)
@maxLength(63)
param appTableName string = 'ServerlessMeta'

@description('Days deleted blobs and containers can be restored.')
@minValue(1)
@maxValue(365)
param blobDeleteRetentionDays int = 7

// Function App.
@description('Memory of each Flex Consumption instance in MB.')
@allowed([
  2048
  4096
])
param instanceMemoryMB int = 4096

@description('Most instances the app scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Always-ready instances for the HTTP functions (0: scale to zero).')
@minValue(0)
param alwaysReadyHttpInstances int = 0

@description('Always-ready instances for the orchestrator and activities.')
@minValue(0)
param alwaysReadyDurableInstances int = 0

@description('Concurrent HTTP requests per instance; 0: the platform default for the memory size.')
@minValue(0)
@maxValue(1000)
param httpPerInstanceConcurrency int = 0

// What the host needs to index the functions.
@description('Durable Task hub name (SMETA_TASK_HUB, read by host.json): 3 to 45 letters and digits, starting with a letter.')
@minLength(3)
@maxLength(45)
param taskHubName string = 'SmetaHub'

@description('NCRONTAB schedule (six fields, seconds first, UTC) of scheduled retraining (RETRAIN_SCHEDULE).')
param retrainSchedule string = '0 0 3 * * *'

// Model configuration of scheduled retraining (SMETA_RETRAINING__*, ServerlessMeta.Orchestration.RetrainingOptions).
@description('Meta-learning algorithm of scheduled retraining.')
@allowed([
  'maml'
  'fomaml'
  'reptile'
  'metasgd'
  'protonet'
  'matchingnet'
])
param retrainingAlgorithm string = 'protonet'

@description('Meta-training rounds per scheduled run.')
@minValue(1)
param retrainingRounds int = 300

@description('Tasks per meta-batch.')
@minValue(1)
param retrainingMetaBatchSize int = 32

@description('Classes per episode (N-way).')
@minValue(2)
param retrainingWays int = 5

@description('Support examples per class (K-shot).')
@minValue(1)
param retrainingShots int = 5

@description('Activities each round fans out to.')
@minValue(1)
param retrainingShards int = 2

@description('Local steps per shard and round.')
@minValue(1)
param retrainingLocalSteps int = 1

@description('Largest HTTP request body accepted, in bytes (SMETA_API__MaxRequestBodyBytes).')
@minValue(1024)
param apiMaxRequestBodyBytes int = 4194304

// Monitoring.
@description('Days Log Analytics keeps logs and traces.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

@description('Daily Log Analytics ingestion cap in GB (-1: none).')
param logDailyQuotaGb int = 1

@description('Application Insights accepts Entra ID-authenticated telemetry only. Every exporter must then send a token (docs/operations.md).')
param applicationInsightsEntraOnly bool = true

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = union(extraTags, {
  'azd-env-name': environmentName
  application: 'serverlessmeta'
})
var deploymentContainerName = 'app-package'
// Names are computed here, not read from module outputs, so What-If can predict every resource id.
var names = {
  identity: 'id-smeta-${resourceToken}'
  storage: 'stsmeta${resourceToken}'
  logAnalytics: 'log-smeta-${resourceToken}'
  applicationInsights: 'appi-smeta-${resourceToken}'
  functionApp: 'func-smeta-${resourceToken}'
  plan: 'plan-smeta-${resourceToken}'
}

resource resourceGroup 'Microsoft.Resources/resourceGroups@2024-11-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: resourceGroup
  params: {
    name: names.identity
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: resourceGroup
  params: {
    name: names.storage
    location: location
    tags: tags
    skuName: storageSkuName
    appContainerName: appContainerName
    appTableName: appTableName
    deploymentContainerName: deploymentContainerName
    deleteRetentionDays: blobDeleteRetentionDays
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: resourceGroup
  params: {
    logAnalyticsName: names.logAnalytics
    applicationInsightsName: names.applicationInsights
    location: location
    tags: tags
    retentionInDays: logRetentionDays
    dailyQuotaGb: logDailyQuotaGb
    disableLocalAuth: applicationInsightsEntraOnly
  }
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  scope: resourceGroup
  params: {
    storageAccountName: names.storage
    applicationInsightsName: names.applicationInsights
    appIdentityName: names.identity
    developerPrincipalId: developerPrincipalId
    developerPrincipalType: developerPrincipalType
  }
  dependsOn: [
    identity
    storage
    monitoring
  ]
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  scope: resourceGroup
  params: {
    name: names.functionApp
    planName: names.plan
    location: location
    tags: tags
    azdServiceName: 'functions'
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    alwaysReadyHttpInstances: alwaysReadyHttpInstances
    alwaysReadyDurableInstances: alwaysReadyDurableInstances
    httpPerInstanceConcurrency: httpPerInstanceConcurrency
    appSettings: {
      SMETA_TASK_HUB: taskHubName
      RETRAIN_SCHEDULE: retrainSchedule
      SMETA_STORAGE__containerName: storage.outputs.appContainerName
      SMETA_STORAGE__tableName: storage.outputs.appTableName
      SMETA_RETRAINING__Algorithm: retrainingAlgorithm
      SMETA_RETRAINING__Rounds: retrainingRounds
      SMETA_RETRAINING__MetaBatchSize: retrainingMetaBatchSize
      SMETA_RETRAINING__Ways: retrainingWays
      SMETA_RETRAINING__Shots: retrainingShots
      SMETA_RETRAINING__Shards: retrainingShards
      SMETA_RETRAINING__LocalSteps: retrainingLocalSteps
      SMETA_API__MaxRequestBodyBytes: apiMaxRequestBodyBytes
    }
  }
  // The host starts with identity-based storage: let its roles exist first.
  dependsOn: [
    roles
  ]
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = resourceGroup.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output SERVICE_FUNCTIONS_NAME string = functionApp.outputs.name
output SERVICE_FUNCTIONS_URI string = 'https://${functionApp.outputs.defaultHostName}'
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint
output AZURE_STORAGE_TABLE_ENDPOINT string = storage.outputs.tableEndpoint
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output SMETA_TASK_HUB string = taskHubName
